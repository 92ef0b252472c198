import './cpu/cpu-kernels.js';

export { layerNormComposite, rmsNormComposite } from './composite.js';
export {
  createNorm,
  DEFAULT_EPS,
  type NormConfig,
  type NormKind,
  type NormKindDefinition,
  type NormOptions,
  normKind,
  normKinds,
  registerNormKind,
} from './kinds.js';
export { Identity, LayerNorm, NormLayer, RMSNorm } from './layers.js';
export {
  type LayerNormAttrs,
  layerNorm,
  layernormBackwardOp,
  layernormOp,
  type NormRows,
  normInputs,
  normRows,
  type RmsNormAttrs,
  rmsNorm,
  rmsnormBackwardOp,
  rmsnormOp,
  statShape,
} from './ops.js';
