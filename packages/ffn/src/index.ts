import './cpu/cpu-kernels.js';

export { defaultHiddenDim, FFN_KINDS, type FfnConfig, type FfnKind } from './config.js';
export { createFfn, type FeedForward } from './create-ffn.js';
export { type FfnInit, MLP } from './mlp.js';
export { SwiGLU, swiglu, swigluBackwardOp, swigluOp } from './swiglu.js';
