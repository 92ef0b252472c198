import { TensorError } from '@tinyformer/tensor';
import { defaultHiddenDim, FFN_KINDS, type FfnConfig } from './config.js';
import { type FfnInit, MLP } from './mlp.js';
import { SwiGLU } from './swiglu.js';

export type FeedForward = MLP | SwiGLU;

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
