import { Linear, Module } from '@tinyformer/autograd';
import { createNorm, type NormConfig, type NormLayer } from '@tinyformer/norm';
import { formatShape, matmul, type Rng, ShapeError, softmax, split, type Tensor } from '@tinyformer/tensor';
import { mergeHeads, splitHeads } from './heads.js';
import type { LayerKVCache } from './kv-cache.js';
import { applyRope } from './rope.js';

/** How positions enter attention: `'rope'` rotates q and k here; `'learned'` embeddings are added by the model. */
export type PositionalKind = 'rope' | 'learned';

/** The shape and options of a CausalSelfAttention layer. */
export interface AttentionConfig {
  /** the model width C (input and output size) */
  dModel: number;
  /** number of heads; must divide dModel */
  nHeads: number;
  /**
   * key/value heads for grouped-query attention (default nHeads: plain multi-head). Must divide nHeads; query head
   * j uses key/value head floor(j / (nHeads / nKvHeads)), as in Llama's `repeat_kv`. The KV cache keeps only these.
   */
  nKvHeads?: number;
  /** 'rope' rotates q and k here; 'learned' positions are added to the embeddings by the model, not here */
  positional: PositionalKind;
  /** normalize q and k per head before the dot product (QK-norm); omitted = off */
  qkNorm?: NormConfig;
  /** RoPE's base (default 10000) */
  ropeBase?: number;
  /** add biases to the QKV and output projections (default off) */
  bias?: boolean;
}

/** How a CausalSelfAttention layer's weights are initialized. */
export interface AttentionInit {
  /** the random generator for the weights (default: the global one) */
  rng?: Rng;
  /** std of the output projection (GPT-2: 0.02 / sqrt(2 * nLayers)) */
  outStd?: number;
}

/**
 * Causal multi-head self-attention with one fused QKV projection; grouped-query attention when nKvHeads < nHeads.
 */
export class CausalSelfAttention extends Module {
  /** the fused QKV projection, C -> (nHeads + 2 nKvHeads) headDim: rows of q (every head), then k, then v */
  readonly qkv: Linear;
  /** the output projection, C -> C */
  readonly proj: Linear;
  /** the per-head query norm (QK-norm), or null when off */
  readonly qNorm: NormLayer | null;
  /** the per-head key norm (QK-norm), or null when off */
  readonly kNorm: NormLayer | null;
  /** dModel / nHeads */
  readonly headDim: number;
  /** key/value heads (nHeads unless grouped-query) */
  readonly nKvHeads: number;

  /**
   * @param config - Width, heads, positional kind, QK-norm, biases.
   * @param init - The random generator and the output projection's std.
   * @throws {@link @tinyformer/tensor!ShapeError} when nHeads does not divide dModel, or RoPE gets an odd head dim.
   *
   * @example
   * ```ts
   * const attn = new CausalSelfAttention({ dModel: 64, nHeads: 4, positional: 'rope' }, { rng: new Rng(0) });
   * const y = attn.forward(x); // x: (B, T, 64) -> y: (B, T, 64), each token attending to itself and earlier ones
   * ```
   */
  constructor(
    /** the layer's configuration */
    readonly config: AttentionConfig,
    init: AttentionInit = {},
  ) {
    super();
    const { dModel, nHeads } = config;
    if (!Number.isInteger(nHeads) || nHeads <= 0 || dModel % nHeads !== 0) {
      throw new ShapeError('CausalSelfAttention', `dModel ${dModel} must be divisible by nHeads ${nHeads}`);
    }
    this.headDim = dModel / nHeads;
    const nKv = config.nKvHeads ?? nHeads;
    if (!Number.isInteger(nKv) || nKv <= 0 || nHeads % nKv !== 0) {
      throw new ShapeError('CausalSelfAttention', `nKvHeads ${nKv} must be a positive divisor of nHeads ${nHeads}`);
    }
    this.nKvHeads = nKv;
    if (config.positional === 'rope' && this.headDim % 2 !== 0) {
      throw new ShapeError('CausalSelfAttention', `RoPE needs an even head dim, got dModel/nHeads = ${this.headDim}`);
    }
    const qkvWidth = (nHeads + 2 * nKv) * this.headDim;
    this.qkv = this.addModule('qkv', new Linear(dModel, qkvWidth, { rng: init.rng, bias: config.bias }));
    this.proj = this.addModule(
      'proj',
      new Linear(dModel, dModel, { rng: init.rng, std: init.outStd, bias: config.bias }),
    );
    const qk = config.qkNorm && config.qkNorm.kind !== 'none' ? config.qkNorm : null;
    this.qNorm = qk ? this.addModule('qNorm', createNorm(qk, this.headDim)) : null;
    this.kNorm = qk ? this.addModule('kNorm', createNorm(qk, this.headDim)) : null;
  }

  /**
   * x: (B, T, C). With a cache, x holds the next T tokens after the cached ones: their keys and values are
   * appended and the queries attend to everything so far (the causal mask offsets itself).
   *
   * @param x - (B, T, C) activations.
   * @param cache - This layer's KV cache when decoding incrementally; omitted for a full sequence.
   * @returns (B, T, C) outputs.
   * @throws {@link @tinyformer/tensor!ShapeError} when x is not (B, T, dModel), or its keys do not fit the cache.
   */
  forward(x: Tensor, cache?: LayerKVCache): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.config.dModel) {
      throw new ShapeError(
        'CausalSelfAttention',
        `input must be (B, T, ${this.config.dModel}), got ${formatShape(x.shape)}`,
      );
    }
    const H = this.config.nHeads;
    const Hkv = this.nKvHeads;
    const hd = this.headDim;
    let q: Tensor;
    let k: Tensor;
    let v: Tensor;
    const packed = this.qkv.forward(x);
    if (Hkv === H) {
      // (B, T, 3C) -> q, k, v (B, H, T, hd): one fused kernel each way where the backend has it
      [q, k, v] = splitHeads(packed, H, 3) as [Tensor, Tensor, Tensor];
    } else {
      const [qPart, kvPart] = split(packed, [H * hd, 2 * Hkv * hd], 2) as [Tensor, Tensor];
      [q] = splitHeads(qPart, H, 1) as [Tensor];
      [k, v] = splitHeads(kvPart, Hkv, 2) as [Tensor, Tensor];
    }
    if (this.qNorm && this.kNorm) {
      q = this.qNorm.forward(q);
      k = this.kNorm.forward(k);
    }
    const start = cache ? cache.length : 0;
    // 1/sqrt(hd) scales q (T x hd values) rather than the scores (T x Tk); with RoPE it rides on q's rotation
    const scale = 1 / Math.sqrt(hd);
    if (this.config.positional === 'rope') {
      q = applyRope(q, start, this.config.ropeBase, scale);
      k = applyRope(k, start, this.config.ropeBase);
    } else {
      q = q.mul(scale);
    }
    if (cache) ({ k, v } = cache.append(k, v));
    if (Hkv === H) {
      // (B, H, T, hd) x (B, H, Tk, hd)^T -> (B, H, T, Tk)
      const att = softmax(matmul(q, k, { transB: true }), { causal: true });
      const y = matmul(att, v); // (B, H, T, hd)
      return this.proj.forward(mergeHeads(y));
    }
    // grouped-query: the g = H/Hkv query heads of a group are adjacent, so (B, H, T, hd) is (B, Hkv, g*T, hd) and
    // one matmul per KV head serves its whole group; no copy of k or v per query head is made
    const [B, , T] = q.shape as [number, number, number, number];
    const Tk = k.shape[2]!;
    const g = H / Hkv;
    const scores = matmul(q.reshape([B, Hkv, g * T, hd]), k, { transB: true }).reshape([B, H, T, Tk]);
    const att = softmax(scores, { causal: true });
    const y = matmul(att.reshape([B, Hkv, g * T, Tk]), v).reshape([B, H, T, hd]);
    return this.proj.forward(mergeHeads(y));
  }
}
