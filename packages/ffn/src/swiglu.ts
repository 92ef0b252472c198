import { defineOp, Linear, Module } from '@tinyformer/autograd';
import { mul, silu, type Tensor, TensorError, unary, wrap } from '@tinyformer/tensor';
import type { FfnInit } from './mlp.js';

/** silu(a) * b as one differentiable op: the backend's fused swiglu kernels where present, else primitives. */
const swigluOp = defineOp<null>({
  name: 'swiglu',
  forward([a, b]) {
    const k = a!.backend.fused.swiglu;
    if (k) return { output: wrap(a!.backend, k(a!.storage, b!.storage, a!.size), a!.shape) };
    return { output: mul(silu(a!), b!) };
  },
  backward(g, { inputs: [a, b] }) {
    const k = a!.backend.fused.swigluBackward;
    if (k) {
      const r = k(a!.storage, b!.storage, g.storage, a!.size);
      return [wrap(a!.backend, r.da, a!.shape), wrap(a!.backend, r.db, a!.shape)];
    }
    // db = g silu(a); da = g b silu'(a)
    return [mul(mul(g, b!), unary('siluGrad', a!)), mul(g, silu(a!))];
  },
});

/**
 * SwiGLU's gate silu(a) * b for same-shaped a and b: one pass forward and one backward on a backend with the fused
 * kernels (the forward no longer keeps silu(a) for backward, and backward does not materialize g * b).
 */
export function swiglu(a: Tensor, b: Tensor): Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new TensorError('swiglu', `gate ${a.describe()} and value ${b.describe()} must have the same shape`);
  }
  return swigluOp([a, b], null);
}

/** SwiGLU (Shazeer 2020): (silu(x W1^T) * x W3^T) W2^T. */
export class SwiGLU extends Module {
  readonly w1: Linear;
  readonly w3: Linear;
  readonly w2: Linear;

  constructor(
    readonly dModel: number,
    readonly hiddenDim: number,
    init: FfnInit = {},
  ) {
    super();
    this.w1 = this.addModule('w1', new Linear(dModel, hiddenDim, { rng: init.rng, bias: init.bias }));
    this.w3 = this.addModule('w3', new Linear(dModel, hiddenDim, { rng: init.rng, bias: init.bias }));
    this.w2 = this.addModule('w2', new Linear(hiddenDim, dModel, { rng: init.rng, std: init.outStd, bias: init.bias }));
  }

  forward(x: Tensor): Tensor {
    return this.w2.forward(swiglu(this.w1.forward(x), this.w3.forward(x)));
  }
}
