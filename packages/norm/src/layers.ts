import { Module, type Parameter } from '@tinyformer/autograd';
import { formatShape, ones, type Tensor, TensorError, zeros } from '@tinyformer/tensor';
import { layerNorm, rmsNorm } from './ops.js';

const DEFAULT_EPS = 1e-5;

/** Every norm layer: a module mapping [..., dim] to [..., dim]. */
export abstract class NormLayer extends Module {
  /** the registered kind that built it */
  abstract readonly kind: string;
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
  readonly kind = 'rmsnorm' as const;
  readonly weight: Parameter | null;

  constructor(
    readonly dim: number,
    readonly eps = DEFAULT_EPS,
    readonly affine = true,
  ) {
    super();
    checkDim('RMSNorm', dim);
    checkEps('RMSNorm', eps);
    this.weight = affine ? this.addParameter('weight', ones([dim])) : null;
  }

  forward(x: Tensor): Tensor {
    checkInput('RMSNorm', x, this.dim);
    return rmsNorm(x, this.weight, this.eps);
  }
}

/** LayerNorm over the last axis with optional learned scale (init 1) and shift (init 0). */
export class LayerNorm extends NormLayer {
  readonly kind = 'layernorm' as const;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  constructor(
    readonly dim: number,
    readonly eps = DEFAULT_EPS,
    readonly affine = true,
    bias = true,
  ) {
    super();
    checkDim('LayerNorm', dim);
    checkEps('LayerNorm', eps);
    this.weight = affine ? this.addParameter('weight', ones([dim])) : null;
    this.bias = affine && bias ? this.addParameter('bias', zeros([dim])) : null;
  }

  forward(x: Tensor): Tensor {
    checkInput('LayerNorm', x, this.dim);
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** No normalization: for experiments that remove a norm without rewiring the model. */
export class Identity extends NormLayer {
  readonly kind = 'none' as const;

  forward(x: Tensor): Tensor {
    return x;
  }
}
