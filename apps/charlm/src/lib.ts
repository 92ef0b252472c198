// charlm's reusable parts for other tools (the norm lab): the SVG chart, the fixed-window
// validation loss, the backend choice and the training loop. The CLI itself stays in cli.ts.
// The presets, the loop and the eval loss live in @tinyformer/recipe (browser-safe); re-exported here unchanged.
export {
  bitsPerChar,
  EVAL_SEED,
  type LoopStep,
  meanLoss,
  PRESETS,
  type PresetName,
  type TrainLoopOptions,
  type TrainSettings,
  trainerOptions,
  trainLoop,
} from '@tinyformer/recipe';
export { type BackendPreference, type ChosenBackend, chooseBackend, type GpuModule } from './backend.js';
export { lineChartSvg, type Series } from './chart.js';
export { CliError } from './errors.js';
export { type LoadedPlugin, loadPlugins, resolvePlugin } from './plugins.js';
export { trainInterleaved } from './train-interleaved.js';
