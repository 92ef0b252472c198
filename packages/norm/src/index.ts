export { DEFAULT_EPS, NORM_KINDS, type NormConfig, type NormKind } from './config.js';
export { createNorm } from './create-norm.js';
export { layerNorm, layerNormComposite, rmsNorm, rmsNormComposite } from './fused.js';
export { Identity, LayerNorm, NormLayer, RMSNorm } from './layers.js';
