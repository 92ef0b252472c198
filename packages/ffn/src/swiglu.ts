import { Linear, Module } from '@tinyformer/autograd';
import { mul, silu, type Tensor } from '@tinyformer/tensor';
import type { FfnInit } from './mlp.js';

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
    return this.w2.forward(mul(silu(this.w1.forward(x)), this.w3.forward(x)));
  }
}
