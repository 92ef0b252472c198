export { type HfArchitecture, type HfConfig, HfInteropError, type Weights } from './architecture.js';
export { HF_ARCHITECTURES } from './architectures/index.js';
export { exportHf, exportHfFromCheckpoint, type HfExport, hfArchitectureFor, weightsOf } from './export.js';
export type { HfFiles } from './files.js';
export { type HfImport, importHf } from './import.js';
export { tokenizerConfigJson, tokenizerJson, vocabFromTokenizer } from './tokenizer.js';
