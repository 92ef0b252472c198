import { TensorError } from '@tinyformer/tensor';
import { DEFAULT_EPS, NORM_KINDS, type NormConfig } from './config.js';
import { Identity, LayerNorm, type NormLayer, RMSNorm } from './layers.js';

/** Builds the norm a config names; the switch is exhaustive, so a new kind fails to compile until handled. */
export function createNorm(config: NormConfig, dim: number): NormLayer {
  switch (config.kind) {
    case 'rmsnorm':
      return new RMSNorm(dim, config.eps ?? DEFAULT_EPS, config.affine ?? true);
    case 'layernorm':
      return new LayerNorm(dim, config.eps ?? DEFAULT_EPS, config.affine ?? true, config.bias ?? true);
    case 'none':
      return new Identity();
    default: {
      const bad: never = config;
      throw new TensorError(
        'createNorm',
        `unknown norm kind ${JSON.stringify((bad as { kind: unknown }).kind)}; allowed: ${NORM_KINDS.join(', ')}`,
      );
    }
  }
}
