import type { Parameter } from '@tinyformer/autograd';
import { NormLayer } from '@tinyformer/norm';
import { full, ones, type Tensor, TensorError, zeros } from '@tinyformer/tensor';
import { dyt } from './dyt-op.js';

export interface DyTOptions {
  /** learned per-feature scale g and shift b (default true) */
  affine?: boolean;
  /** alpha's initial value (the paper's default for LLM-size widths is about 0.5; default 0.5) */
  alphaInit?: number;
}

/** Dynamic Tanh as a norm layer: y = g * tanh(alpha * x) + b, alpha one learnable scalar. */
export class DyT extends NormLayer {
  readonly kind = 'dyt';
  readonly alpha: Parameter;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  constructor(
    readonly dim: number,
    opts: DyTOptions = {},
  ) {
    super();
    if (!Number.isInteger(dim) || dim <= 0) throw new TensorError('DyT', `dim must be a positive integer, got ${dim}`);
    const alphaInit = opts.alphaInit ?? 0.5;
    if (!Number.isFinite(alphaInit)) throw new TensorError('DyT', `alphaInit must be finite, got ${alphaInit}`);
    this.alpha = this.addParameter('alpha', full([1], alphaInit));
    const affine = opts.affine ?? true;
    this.weight = affine ? this.addParameter('weight', ones([dim])) : null;
    this.bias = affine ? this.addParameter('bias', zeros([dim])) : null;
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.dim) {
      throw new TensorError('DyT', `input ${x.describe()} must end in ${this.dim} features`);
    }
    return dyt(x, this.alpha, this.weight, this.bias);
  }
}
