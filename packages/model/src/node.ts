// @tinyformer/model/node: the helpers that need the file system. The package root stays browser-safe.
export { processExists, readFileChecked, removeStaleTempFiles, writeFileAtomic } from './atomic-file.js';
export { loadCheckpoint, readCheckpoint, saveCheckpoint } from './checkpoint-file.js';
