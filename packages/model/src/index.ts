export { Block, blockNormConfig } from './block.js';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type CheckpointContents,
  type CheckpointOptions,
  type CheckpointResponse,
  checkOptimizerState,
  decodeCheckpoint,
  encodeCheckpoint,
  findNonFinite,
  loadCheckpointFromResponse,
  loadWeights,
  parseCheckpoint,
} from './checkpoint.js';
export {
  ConfigError,
  MODEL_LIMITS,
  type ModelConfig,
  type ModelConfigInput,
  modelConfigSchema,
  resolveModelConfig,
} from './config.js';
export { DecoderLM, type ForwardOptions } from './decoder-lm.js';
export { turnEventLoop } from './event-loop.js';
export { type GenerateOptions, generate } from './generate.js';
export {
  type GradNormOptions,
  gradNorms,
  type LayerGradNorm,
  layerGradNorms,
  type ParamGradNorm,
} from './grad-norms.js';
export {
  AdamW,
  type AdamWOptions,
  type AdamWState,
  clipScale,
  gradNormSquared,
  type LrSchedule,
  learningRate,
  type ParamGroup,
} from './optim.js';
export { parameterShapes } from './parameter-shapes.js';
export { ActivationProbe } from './probe.js';
export {
  CheckpointError,
  type DecodeSafetensorsOptions,
  decodeSafetensors,
  encodeSafetensors,
  type NamedTensor,
} from './safetensors.js';
export { SamplingError, type SamplingOptions, sampleToken, validateSampling } from './sampling.js';
export {
  type Batch,
  NonFiniteError,
  type NonFiniteSite,
  type StepResult,
  Trainer,
  type TrainerOptions,
  type TrainStepOptions,
} from './trainer.js';
