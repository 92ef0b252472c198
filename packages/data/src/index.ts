// The data pipeline as a library (the norm lab and other tools train on exactly what charlm trains on).
export {
  brownCorpusDir,
  brownFileIds,
  detokenizeBrownDocument,
  type LoadBrownOptions,
  loadBrownText,
} from './brown.js';
export { type Batch, BatchSampler, CharDataset, evalBatches, type SplitName, TRAIN_FRACTION } from './dataset.js';
export { DataError } from './errors.js';
export { firstInvalidUtf8, readTextFile, type Utf8Problem } from './node/text-file.js';
export { CharVocab } from './vocab.js';
