import type { ReduceOp } from '../backend.js';
import { axisSplit, normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { mul } from './elementwise.js';
import { backendOf, composite, record, wrap } from './internal.js';

/** Options of the reductions. */
export interface ReduceOptions {
  /** keep the reduced axes with length 1 (default false: drop them) */
  keepDims?: boolean;
}

/** The axes to reduce: one, several, or (undefined) all; negative ones count from the end. */
export type Axes = number | readonly number[] | undefined;

function resolveAxes(op: string, x: Tensor, axes: Axes): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const norm = list.map((a) => normalizeAxis(op, a, x.rank));
  return [...new Set(norm)].sort((a, b) => b - a);
}

/** One axis at a time (largest first so indices stay valid); the op is recorded per axis for autograd. */
function reduceAxes(op: ReduceOp, x: Tensor, axes: Axes, keepDims: boolean): Tensor {
  const list = resolveAxes(op, x, axes);
  // the partial results of several steps, and the keepDims-shaped result under a reshape view, are intermediates
  if (list.length > 1 || (!keepDims && list.length > 0))
    return composite([x], () => reduceSteps(op, x, list, keepDims));
  return reduceSteps(op, x, list, keepDims);
}

function reduceSteps(op: ReduceOp, x: Tensor, list: readonly number[], keepDims: boolean): Tensor {
  let cur = x;
  for (const axis of list) {
    const backend = backendOf(op, cur);
    const { outer, len, inner } = axisSplit(cur.shape, axis);
    const shape = [...cur.shape];
    shape[axis] = 1;
    const out = wrap(backend, backend.reduce(op, cur.storage, outer, len, inner), shape);
    cur = record(op, [cur], out, { axis });
  }
  if (!keepDims && list.length > 0) {
    const shape = x.shape.filter((_, i) => !list.includes(i));
    cur = cur.reshape(shape);
  }
  return cur;
}

/**
 * Sum over the given axes (all by default).
 *
 * @param x - The input.
 * @param axes - The axes (default all).
 * @param opts - keepDims.
 * @returns The sums.
 * @throws {@link ShapeError} when an axis is out of range.
 */
export function sum(x: Tensor, axes?: Axes, opts: ReduceOptions = {}): Tensor {
  return reduceAxes('sum', x, axes, opts.keepDims ?? false);
}

/**
 * Max over the given axes (all by default); NaN wins.
 *
 * @param x - The input.
 * @param axes - The axes (default all).
 * @param opts - keepDims.
 * @returns The maxima.
 * @throws {@link ShapeError} when an axis is out of range.
 */
export function max(x: Tensor, axes?: Axes, opts: ReduceOptions = {}): Tensor {
  return reduceAxes('max', x, axes, opts.keepDims ?? false);
}

/**
 * Mean over the given axes (all by default).
 *
 * @param x - The input.
 * @param axes - The axes (default all).
 * @param opts - keepDims.
 * @returns The means.
 * @throws {@link ShapeError} when an axis is out of range.
 */
export function mean(x: Tensor, axes?: Axes, opts: ReduceOptions = {}): Tensor {
  const list = resolveAxes('mean', x, axes);
  let count = 1;
  for (const a of list) count *= x.shape[a]!;
  return composite([x], () => mul(sum(x, axes, opts), 1 / count));
}
