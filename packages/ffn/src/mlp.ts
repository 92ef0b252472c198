import { Linear, Module } from '@tinyformer/autograd';
import { gelu, type Rng, type Tensor } from '@tinyformer/tensor';

/** How a feed-forward block's weights are initialized. */
export interface FfnInit {
  /** the random generator for the weights (default: the global one) */
  rng?: Rng;
  /** std of the output projection (GPT-2 scales it by 1/sqrt(2*nLayers)) */
  outStd?: number;
  /** add biases to the linear layers (default off) */
  bias?: boolean;
}

/** GPT-2's MLP: x -> GELU(x W1^T) W2^T. */
export class MLP extends Module {
  /** the input layer, dModel -> hiddenDim */
  readonly fc: Linear;
  /** the output projection, hiddenDim -> dModel */
  readonly proj: Linear;

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
    this.fc = this.addModule('fc', new Linear(dModel, hiddenDim, { rng: init.rng, bias: init.bias }));
    this.proj = this.addModule(
      'proj',
      new Linear(hiddenDim, dModel, { rng: init.rng, std: init.outStd, bias: init.bias }),
    );
  }

  /**
   * Applies the block to the last axis.
   *
   * @param x - (..., dModel) activations.
   * @returns (..., dModel) outputs.
   */
  forward(x: Tensor): Tensor {
    return this.proj.forward(gelu(this.fc.forward(x)));
  }
}
