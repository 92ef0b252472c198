import { formatShape, matmul, type Rng, randn, ShapeError, type Tensor, zeros } from '@tinyformer/tensor';
import type { Parameter } from '../parameter.js';
import { Module } from './module.js';

/** How a Linear layer is initialized. */
export interface LinearOptions {
  /** add a bias, initialized to zeros (default off) */
  bias?: boolean;
  /** init std of the weight (default 0.02, GPT-2) */
  std?: number;
  /** the random generator for the weight (default: the global one) */
  rng?: Rng;
}

/**
 * y = x W^T + b with W stored [out, in] (PyTorch's layout, so weights interchange with torch/safetensors).
 * Leading dims are flattened into one matmul: a 3-D input shares W without a per-batch weight gradient.
 */
export class Linear extends Module {
  /** the weight W, [outFeatures, inFeatures] */
  readonly weight: Parameter;
  /** the bias b, [outFeatures], or null without one */
  readonly bias: Parameter | null;

  /**
   * @param inFeatures - Input width.
   * @param outFeatures - Output width.
   * @param opts - Bias, init std and random generator.
   */
  constructor(
    /** input width */
    readonly inFeatures: number,
    /** output width */
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const std = opts.std ?? 0.02;
    this.weight = this.addParameter('weight', randn([outFeatures, inFeatures], { std, rng: opts.rng }));
    this.bias = opts.bias ? this.addParameter('bias', zeros([outFeatures])) : null;
  }

  /**
   * Applies the layer to the last axis.
   *
   * @param x - (..., inFeatures) input.
   * @returns (..., outFeatures) output.
   * @throws {@link @tinyformer/tensor!ShapeError} when the last axis is not inFeatures.
   */
  forward(x: Tensor): Tensor {
    const d = x.shape[x.rank - 1];
    if (x.rank < 1 || d !== this.inFeatures) {
      throw new ShapeError('Linear', `input ${formatShape(x.shape)} must end in ${this.inFeatures} features`);
    }
    const lead = x.shape.slice(0, -1);
    let y = matmul(x.reshape([-1, this.inFeatures]), this.weight, { transB: true });
    if (this.bias) y = y.add(this.bias);
    return y.reshape([...lead, this.outFeatures]);
  }
}
