import { gather, type Rng, randn, type Tensor, TensorError } from '@tinyformer/tensor';
import type { Parameter } from '../parameter.js';
import { Module } from './module.js';

/** A [vocab, dim] lookup table; its gradient is a scatter-add. */
export class Embedding extends Module {
  /** the table, [vocab, dim] */
  readonly weight: Parameter;

  /**
   * @param vocab - Number of rows (ids).
   * @param dim - Width of each row.
   * @param opts - Init std (default 0.02) and random generator.
   */
  constructor(
    /** number of rows (ids) */
    readonly vocab: number,
    /** width of each row */
    readonly dim: number,
    opts: { std?: number; rng?: Rng } = {},
  ) {
    super();
    this.weight = this.addParameter('weight', randn([vocab, dim], { std: opts.std ?? 0.02, rng: opts.rng }));
  }

  /**
   * Looks up rows.
   *
   * @param ids - int32 ids of any shape.
   * @returns The rows, shape [...ids.shape, dim].
   * @throws {@link @tinyformer/tensor!TensorError} when ids is not int32.
   */
  forward(ids: Tensor): Tensor {
    if (ids.dtype !== 'int32') throw new TensorError('Embedding', `ids must be int32, got ${ids.dtype}`);
    return gather(this.weight, ids);
  }
}
