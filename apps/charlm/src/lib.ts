// charlm's reusable parts for other tools (the norm lab): the SVG chart, the fixed-window
// validation loss, the backend choice and the training loop. The CLI itself stays in cli.ts.
export { type BackendPreference, type ChosenBackend, chooseBackend, type GpuModule } from './backend.js';
export { lineChartSvg, type Series } from './chart.js';
export { CliError } from './errors.js';
export { bitsPerChar, EVAL_SEED, meanLoss } from './evaluate.js';
export { type LoadedPlugin, loadPlugins, resolvePlugin } from './plugins.js';
export { PRESETS, type PresetName, type TrainSettings } from './presets.js';
export { trainInterleaved } from './train-interleaved.js';
export { type LoopStep, type TrainLoopOptions, trainLoop } from './train-loop.js';
export { trainerOptions } from './trainer-options.js';
