import { gather, type Rng, randn, type Tensor, TensorError } from '@tinyformer/tensor';
import type { Parameter } from '../parameter.js';
import { Module } from './module.js';

/** A [vocab, dim] lookup table; its gradient is a scatter-add. */
export class Embedding extends Module {
  readonly weight: Parameter;

  constructor(
    readonly vocab: number,
    readonly dim: number,
    opts: { std?: number; rng?: Rng } = {},
  ) {
    super();
    this.weight = this.addParameter('weight', randn([vocab, dim], { std: opts.std ?? 0.02, rng: opts.rng }));
  }

  forward(ids: Tensor): Tensor {
    if (ids.dtype !== 'int32') throw new TensorError('Embedding', `ids must be int32, got ${ids.dtype}`);
    return gather(this.weight, ids);
  }
}
