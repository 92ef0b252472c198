import { Module, type Parameter } from '@tinyformer/autograd';
import { formatShape, ones, type Tensor, TensorError, zeros } from '@tinyformer/tensor';
import { layerNorm, rmsNorm } from './ops.js';

const DEFAULT_EPS = 1e-5;

/** Every norm layer: a module mapping [..., dim] to [..., dim]. */
export abstract class NormLayer extends Module {
  /** the registered kind that built it */
  abstract readonly kind: string;
  /**
   * Normalizes the last axis.
   *
   * @param x - (..., dim) input.
   * @returns (..., dim) output.
   */
  abstract forward(x: Tensor): Tensor;
}

function checkDim(op: string, dim: number): void {
  if (!Number.isInteger(dim) || dim <= 0) throw new TensorError(op, `dim must be a positive integer, got ${dim}`);
}

function checkEps(op: string, eps: number): void {
  if (!(eps > 0) || !Number.isFinite(eps))
    throw new TensorError(op, `eps must be a positive finite number, got ${eps}`);
}

function checkInput(op: string, x: Tensor, dim: number): void {
  if (x.shape[x.rank - 1] !== dim)
    throw new TensorError(op, `input ${formatShape(x.shape)} must end in ${dim} features`);
}

/** RMSNorm (Zhang & Sennrich 2019): no centering, no shift; optional learned scale g (init 1). */
export class RMSNorm extends NormLayer {
  /** the kind's name */
  readonly kind = 'rmsnorm' as const;
  /** the learned scale g (init 1), or null without affine */
  readonly weight: Parameter | null;

  /**
   * @param dim - Width of the normalized axis.
   * @param eps - Added under the square root (default 1e-5).
   * @param affine - Learn a scale (default true).
   * @throws {@link @tinyformer/tensor!TensorError} when dim is not a positive integer or eps is not positive and finite.
   */
  constructor(
    /** width of the normalized axis */
    readonly dim: number,
    /** added under the square root */
    readonly eps = DEFAULT_EPS,
    /** whether the layer learns a scale */
    readonly affine = true,
  ) {
    super();
    checkDim('RMSNorm', dim);
    checkEps('RMSNorm', eps);
    this.weight = affine ? this.addParameter('weight', ones([dim])) : null;
  }

  /**
   * Normalizes the last axis.
   *
   * @param x - (..., dim) input.
   * @returns (..., dim) output.
   * @throws {@link @tinyformer/tensor!TensorError} when the last axis is not dim.
   */
  forward(x: Tensor): Tensor {
    checkInput('RMSNorm', x, this.dim);
    return rmsNorm(x, this.weight, this.eps);
  }
}

/** LayerNorm over the last axis with optional learned scale (init 1) and shift (init 0). */
export class LayerNorm extends NormLayer {
  /** the kind's name */
  readonly kind = 'layernorm' as const;
  /** the learned scale g (init 1), or null without affine */
  readonly weight: Parameter | null;
  /** the learned shift b (init 0), or null without affine or bias */
  readonly bias: Parameter | null;

  /**
   * @param dim - Width of the normalized axis.
   * @param eps - Added under the square root (default 1e-5).
   * @param affine - Learn a scale, and a shift when `bias` (default true).
   * @param bias - Learn a shift (with affine; default true).
   * @throws {@link @tinyformer/tensor!TensorError} when dim is not a positive integer or eps is not positive and finite.
   */
  constructor(
    /** width of the normalized axis */
    readonly dim: number,
    /** added under the square root */
    readonly eps = DEFAULT_EPS,
    /** whether the layer learns a scale (and a shift) */
    readonly affine = true,
    bias = true,
  ) {
    super();
    checkDim('LayerNorm', dim);
    checkEps('LayerNorm', eps);
    this.weight = affine ? this.addParameter('weight', ones([dim])) : null;
    this.bias = affine && bias ? this.addParameter('bias', zeros([dim])) : null;
  }

  /**
   * Normalizes the last axis.
   *
   * @param x - (..., dim) input.
   * @returns (..., dim) output.
   * @throws {@link @tinyformer/tensor!TensorError} when the last axis is not dim.
   */
  forward(x: Tensor): Tensor {
    checkInput('LayerNorm', x, this.dim);
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** No normalization: for experiments that remove a norm without rewiring the model. */
export class Identity extends NormLayer {
  /** the kind's name */
  readonly kind = 'none' as const;

  /**
   * Returns x unchanged.
   *
   * @param x - Any input.
   * @returns x itself.
   */
  forward(x: Tensor): Tensor {
    return x;
  }
}
