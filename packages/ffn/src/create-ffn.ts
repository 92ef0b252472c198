import { TensorError } from '@tinyformer/tensor';
import { defaultHiddenDim, FFN_KINDS, type FfnConfig } from './config.js';
import { type FfnInit, MLP } from './mlp.js';
import { SwiGLU } from './swiglu.js';

/** A feed-forward block as createFfn builds it: an MLP (gelu) or a SwiGLU. */
export type FeedForward = MLP | SwiGLU;

/**
 * Builds the feed-forward block a config names.
 *
 * @param config - The kind, and optionally the hidden width (default: defaultHiddenDim) and biases.
 * @param dModel - The model width (the block's input and output size).
 * @param init - Initialization: the random generator, the output projection's std, biases.
 * @returns A new MLP or SwiGLU module.
 * @throws {@link @tinyformer/tensor!TensorError} when hiddenDim is not a positive integer or the kind is unknown.
 *
 * @example
 * ```ts
 * const ffn = createFfn({ kind: 'swiglu' }, 64, { rng: new Rng(0) });
 * ffn.hiddenDim; // 176: 8/3 * 64 rounded up to 8
 * const y = ffn.forward(x); // x: (B, T, 64) -> y: (B, T, 64)
 * ```
 */
export function createFfn(config: FfnConfig, dModel: number, init: FfnInit = {}): FeedForward {
  const hidden = config.hiddenDim ?? defaultHiddenDim(config.kind, dModel);
  if (!Number.isInteger(hidden) || hidden <= 0) {
    throw new TensorError('createFfn', `hiddenDim must be a positive integer, got ${hidden}`);
  }
  const opts = { ...init, bias: config.bias ?? init.bias };
  switch (config.kind) {
    case 'gelu':
      return new MLP(dModel, hidden, opts);
    case 'swiglu':
      return new SwiGLU(dModel, hidden, opts);
    default: {
      const bad: never = config.kind;
      throw new TensorError('createFfn', `unknown ffn kind ${JSON.stringify(bad)}; allowed: ${FFN_KINDS.join(', ')}`);
    }
  }
}
