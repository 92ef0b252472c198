import { Linear, Module } from '@tinyformer/autograd';
import { createNorm, type NormConfig, type NormLayer } from '@tinyformer/norm';
import { formatShape, matmul, type Rng, ShapeError, softmax, split, type Tensor } from '@tinyformer/tensor';
import type { LayerKVCache } from './kv-cache.js';
import { applyRope } from './rope.js';

export type PositionalKind = 'rope' | 'learned';

export interface AttentionConfig {
  dModel: number;
  nHeads: number;
  /** 'rope' rotates q and k here; 'learned' positions are added to the embeddings by the model, not here */
  positional: PositionalKind;
  /** normalize q and k per head before the dot product (QK-norm); omitted = off */
  qkNorm?: NormConfig;
  ropeBase?: number;
  bias?: boolean;
}

export interface AttentionInit {
  rng?: Rng;
  /** std of the output projection (GPT-2: 0.02 / sqrt(2 * nLayers)) */
  outStd?: number;
}

/** Causal multi-head self-attention with one fused QKV projection. */
export class CausalSelfAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly qNorm: NormLayer | null;
  readonly kNorm: NormLayer | null;
  readonly headDim: number;

  constructor(
    readonly config: AttentionConfig,
    init: AttentionInit = {},
  ) {
    super();
    const { dModel, nHeads } = config;
    if (!Number.isInteger(nHeads) || nHeads <= 0 || dModel % nHeads !== 0) {
      throw new ShapeError('CausalSelfAttention', `dModel ${dModel} must be divisible by nHeads ${nHeads}`);
    }
    this.headDim = dModel / nHeads;
    if (config.positional === 'rope' && this.headDim % 2 !== 0) {
      throw new ShapeError('CausalSelfAttention', `RoPE needs an even head dim, got dModel/nHeads = ${this.headDim}`);
    }
    this.qkv = this.addModule('qkv', new Linear(dModel, 3 * dModel, { rng: init.rng, bias: config.bias }));
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
   */
  forward(x: Tensor, cache?: LayerKVCache): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.config.dModel) {
      throw new ShapeError(
        'CausalSelfAttention',
        `input must be (B, T, ${this.config.dModel}), got ${formatShape(x.shape)}`,
      );
    }
    const [B, T, C] = x.shape as [number, number, number];
    const H = this.config.nHeads;
    const hd = this.headDim;
    // (B, T, 3C) -> (3, B, H, T, hd)
    const qkv = this.qkv.forward(x).reshape([B, T, 3, H, hd]).permute([2, 0, 3, 1, 4]);
    let [q, k, v] = split(qkv, 3, 0).map((t) => t.reshape([B, H, T, hd])) as [Tensor, Tensor, Tensor];
    if (this.qNorm && this.kNorm) {
      q = this.qNorm.forward(q);
      k = this.kNorm.forward(k);
    }
    const start = cache ? cache.length : 0;
    if (this.config.positional === 'rope') {
      q = applyRope(q, start, this.config.ropeBase);
      k = applyRope(k, start, this.config.ropeBase);
    }
    if (cache) ({ k, v } = cache.append(k, v));
    // (B, H, T, hd) x (B, H, Tk, hd)^T -> (B, H, T, Tk)
    const att = softmax(matmul(q, k, { transB: true }).mul(1 / Math.sqrt(hd)), { causal: true });
    const y = matmul(att, v); // (B, H, T, hd)
    return this.proj.forward(y.permute([0, 2, 1, 3]).reshape([B, T, C]));
  }
}
