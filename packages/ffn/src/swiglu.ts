import { Linear, Module } from '@tinyformer/autograd';
import { defineOp, mul, type Op, silu, type Tensor, TensorError, unary } from '@tinyformer/tensor';
import type { FfnInit } from './mlp.js';

function sameShapes(op: string, ts: readonly Tensor[]): void {
  const [a, ...rest] = ts;
  for (const t of rest) {
    if (t.shape.length !== a!.shape.length || t.shape.some((d, i) => d !== a!.shape[i])) {
      throw new TensorError(op, `${ts.map((x) => x.describe()).join(', ')} must have the same shape`);
    }
  }
}

/** SwiGLU's backward: [a, b, dy] -> [da, db] with db = dy silu(a), da = dy b silu'(a) */
export const swigluBackwardOp: Op<null> = defineOp<null>({
  name: 'swigluBackward',
  shapes(inputs) {
    sameShapes('swigluBackward', inputs);
    return { outputs: [inputs[0]!.shape, inputs[0]!.shape] };
  },
  composite: ([a, b, g]) => ({ outputs: [mul(mul(g!, b!), unary('siluGrad', a!)), mul(g!, silu(a!))] }),
  backward: 'none',
});

/** silu(a) * b as one differentiable op: a backend's swiglu kernels where present, else primitives */
export const swigluOp: Op<null> = defineOp<null>({
  name: 'swiglu',
  shapes(inputs) {
    sameShapes('swiglu', inputs);
    return { outputs: [inputs[0]!.shape] };
  },
  composite: ([a, b]) => ({ outputs: [mul(silu(a!), b!)] }),
  backward: ([g], { inputs: [a, b] }) => swigluBackwardOp.apply([a!, b!, g!], null),
  cases: [
    { inputs: [{ shape: [3, 11], range: [-6, 6] }, { shape: [3, 11] }], attrs: null },
    {
      inputs: [
        { shape: [257], range: [-8, 8] },
        { shape: [257], range: [-2, 2] },
      ],
      attrs: null,
    },
  ],
});

/**
 * SwiGLU's gate silu(a) * b for same-shaped a and b: one pass forward and one backward on a backend with the fused
 * kernels (the forward no longer keeps silu(a) for backward, and backward does not materialize g * b).
 *
 * @param a - The gate's pre-activation.
 * @param b - The value, the same shape as `a`.
 * @returns silu(a) * b, the shape of `a`.
 * @throws {@link @tinyformer/tensor!TensorError} when the shapes differ.
 */
export function swiglu(a: Tensor, b: Tensor): Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new TensorError('swiglu', `gate ${a.describe()} and value ${b.describe()} must have the same shape`);
  }
  return swigluOp.apply([a, b], null)[0]!;
}

/** SwiGLU (Shazeer 2020): (silu(x W1^T) * x W3^T) W2^T. */
export class SwiGLU extends Module {
  /** the gate's layer, dModel -> hiddenDim (silu is applied to its output) */
  readonly w1: Linear;
  /** the value's layer, dModel -> hiddenDim */
  readonly w3: Linear;
  /** the output projection, hiddenDim -> dModel */
  readonly w2: Linear;

  /**
   * @param dModel - The model width.
   * @param hiddenDim - The hidden width.
   * @param init - The random generator, the output projection's std, biases.
   */
  constructor(
    /** the model width (input and output size) */
    readonly dModel: number,
    /** the hidden width */
    readonly hiddenDim: number,
    init: FfnInit = {},
  ) {
    super();
    this.w1 = this.addModule('w1', new Linear(dModel, hiddenDim, { rng: init.rng, bias: init.bias }));
    this.w3 = this.addModule('w3', new Linear(dModel, hiddenDim, { rng: init.rng, bias: init.bias }));
    this.w2 = this.addModule('w2', new Linear(hiddenDim, dModel, { rng: init.rng, std: init.outStd, bias: init.bias }));
  }

  /**
   * Applies the block to the last axis.
   *
   * @param x - (..., dModel) activations.
   * @returns (..., dModel) outputs.
   */
  forward(x: Tensor): Tensor {
    return this.w2.forward(swiglu(this.w1.forward(x), this.w3.forward(x)));
  }
}
