export { type AttentionConfig, type AttentionInit, CausalSelfAttention, type PositionalKind } from './attention.js';
export { mergeHeads, splitHeads } from './heads.js';
export { KVCache, LayerKVCache } from './kv-cache.js';
export { applyRope, ropeComposite } from './rope.js';
