import { Linear, Module } from '@tinyformer/autograd';
import { gelu, type Rng, type Tensor } from '@tinyformer/tensor';

export interface FfnInit {
  rng?: Rng;
  /** std of the output projection (GPT-2 scales it by 1/sqrt(2*nLayers)) */
  outStd?: number;
  bias?: boolean;
}

/** GPT-2's MLP: x -> GELU(x W1^T) W2^T. */
export class MLP extends Module {
  readonly fc: Linear;
  readonly proj: Linear;

  constructor(
    readonly dModel: number,
    readonly hiddenDim: number,
    init: FfnInit = {},
  ) {
    super();
    this.fc = this.addModule('fc', new Linear(dModel, hiddenDim, { rng: init.rng, bias: init.bias }));
    this.proj = this.addModule(
      'proj',
      new Linear(hiddenDim, dModel, { rng: init.rng, std: init.outStd, bias: init.bias }),
    );
  }

  forward(x: Tensor): Tensor {
    return this.proj.forward(gelu(this.fc.forward(x)));
  }
}
