// The browser-safe root: no node: module and no Buffer anywhere below it (test/browser-bundle.test.ts checks).
// Reading files from disk, the Brown Corpus included, is in ./node/index.ts (`@tinyformer/data/node`).
export { detokenizeBrownDocument } from './brown.js';
export { brownFileIdsFromManifest, brownTextFromFiles, type LoadBrownOptions } from './brown-corpus.js';
export { type Batch, BatchSampler, CharDataset, evalBatches, type SplitName, TRAIN_FRACTION } from './dataset.js';
export { decodeText } from './decode-text.js';
export { DataError } from './errors.js';
export { firstInvalidUtf8, type Utf8Problem } from './utf8.js';
export { validateText } from './validate-text.js';
export { CharVocab } from './vocab.js';
