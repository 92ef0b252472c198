import './cpu-kernels.js';
import { registerNormKind } from '@tinyformer/norm';
import { DyT } from './dyt.js';

export { DyT, type DyTOptions } from './dyt.js';
export { type DytAttrs, dyt, dytBackwardOp, dytOp } from './dyt-op.js';

/**
 * Importing this module registers the norm kind 'dyt': `new DecoderLM({ ..., norm: { kind: 'dyt' } })`, the
 * charlm and norm-lab `--norm dyt` flags, and `createNorm({ kind: 'dyt' }, dim)` all accept it from then on.
 * `eps` and `bias` do not apply to DyT; `affine: false` drops g and b (alpha stays).
 */
export const unregisterDyT = registerNormKind({
  kind: 'dyt',
  description: 'Dynamic Tanh (Zhu et al. 2025): g * tanh(alpha x) + b, no statistics',
  create: (dim, o) => new DyT(dim, { affine: o.affine }),
});
