import './cpu/cpu-kernels.js';

export { type AttentionConfig, type AttentionInit, CausalSelfAttention, type PositionalKind } from './attention.js';
export { mergeHeads, mergeHeadsOp, splitHeads, splitHeadsOp } from './heads.js';
export { KVCache, LayerKVCache } from './kv-cache.js';
export type { HeadsParams, RopeAttrs, RopeParams } from './params.js';
export { applyRope, ropeComposite, ropeOp } from './rope.js';
