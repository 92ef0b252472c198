import { CausalSelfAttention, type LayerKVCache } from '@tinyformer/attention';
import { Module } from '@tinyformer/autograd';
import { createFfn, type FeedForward } from '@tinyformer/ffn';
import { createNorm, type NormConfig, type NormLayer } from '@tinyformer/norm';
import type { Rng, Tensor } from '@tinyformer/tensor';
import type { ModelConfig } from './config.js';
import type { ActivationProbe } from './probe.js';

/**
 * The norm config of a model's blocks (and its final norm and QK-norm).
 *
 * @param c - The resolved model config.
 * @returns Its norm's kind, eps, affine and bias.
 */
export function blockNormConfig(c: ModelConfig): NormConfig {
  const { kind, eps, affine, bias } = c.norm;
  return { kind, eps, affine, bias };
}

/**
 * One transformer block.
 *   pre:  x = x + attn(norm1(x)); x = x + ffn(norm2(x))      (the residual stream itself is never normalized)
 *   post: x = norm1(x + attn(x)); x = norm2(x + ffn(x))      (original Transformer / BERT)
 */
export class Block extends Module {
  /** the norm around attention (before it in pre-norm, after the residual add in post-norm) */
  readonly norm1: NormLayer;
  /** causal self-attention */
  readonly attn: CausalSelfAttention;
  /** the norm around the feed-forward block */
  readonly norm2: NormLayer;
  /** the feed-forward block */
  readonly ffn: FeedForward;
  /** where the norms sit: pre-norm or post-norm */
  readonly placement: 'pre' | 'post';

  /**
   * @param c - The resolved model config.
   * @param index - The block's index in the model.
   * @param rng - The random generator for the weights.
   */
  constructor(
    c: ModelConfig,
    /** the block's index in the model */
    readonly index: number,
    rng: Rng,
  ) {
    super();
    const norm = blockNormConfig(c);
    const outStd = 0.02 / Math.sqrt(2 * c.nLayers);
    this.placement = c.norm.placement;
    this.norm1 = this.addModule('norm1', createNorm(norm, c.dModel));
    this.attn = this.addModule(
      'attn',
      new CausalSelfAttention(
        {
          dModel: c.dModel,
          nHeads: c.nHeads,
          nKvHeads: c.nKvHeads,
          positional: c.positional,
          qkNorm: c.qkNorm ? norm : undefined,
          ropeBase: c.ropeBase,
          bias: c.bias,
        },
        { rng, outStd },
      ),
    );
    this.norm2 = this.addModule('norm2', createNorm(norm, c.dModel));
    this.ffn = this.addModule('ffn', createFfn({ ...c.ffn, bias: c.bias }, c.dModel, { rng, outStd }));
  }

  /**
   * Runs the block on the residual stream.
   *
   * @param x - (B, T, dModel) residual stream.
   * @param cache - This block's KV cache when decoding incrementally.
   * @param probe - Records the block's activation RMS.
   * @returns (B, T, dModel) residual stream.
   */
  forward(x: Tensor, cache?: LayerKVCache, probe?: ActivationProbe): Tensor {
    if (this.placement === 'pre') {
      const h1 = this.norm1.forward(x);
      probe?.record(this.index, 'norm1_out', h1);
      x = x.add(this.attn.forward(h1, cache));
      probe?.record(this.index, 'resid_mid', x);
      const h2 = this.norm2.forward(x);
      probe?.record(this.index, 'norm2_out', h2);
      x = x.add(this.ffn.forward(h2));
      probe?.record(this.index, 'resid_out', x);
      return x;
    }
    x = this.norm1.forward(x.add(this.attn.forward(x, cache)));
    probe?.record(this.index, 'resid_mid', x);
    x = this.norm2.forward(x.add(this.ffn.forward(x)));
    probe?.record(this.index, 'resid_out', x);
    return x;
  }
}
