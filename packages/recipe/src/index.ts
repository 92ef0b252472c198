// charlm's training run as a browser-safe library: charlm, the norm lab and the playground build runs from here, so
// the same text, settings and seed train the same model in Node, in a page and in a Worker.
export { bitsPerChar, EVAL_SEED, meanLoss } from './evaluate.js';
export { PRESET_NAMES, PRESETS, type PresetName, type TrainSettings } from './presets.js';
export {
  checkpointBytes,
  DEFAULT_CORPUS_SOURCE,
  evalSample,
  type Run,
  type RunSetupOptions,
  setupRun,
  type TrainMeta,
  textHash,
} from './run.js';
export { type LoopStep, type TrainLoopOptions, trainLoop } from './train-loop.js';
export { trainerOptions } from './trainer-options.js';
