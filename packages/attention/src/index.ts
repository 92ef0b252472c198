export { type AttentionConfig, type AttentionInit, CausalSelfAttention, type PositionalKind } from './attention.js';
export { KVCache, LayerKVCache } from './kv-cache.js';
export { applyRope } from './rope.js';
