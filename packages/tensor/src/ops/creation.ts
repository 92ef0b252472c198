import type { Backend } from '../backend.js';
import { getBackend } from '../engine.js';
import { TensorError } from '../errors.js';
import type { Rng } from '../random.js';
import { Rng as RngClass } from '../random.js';
import { checkShape, formatShape, type Shape, sizeOf } from '../shape.js';
import { type DType, Tensor } from '../tensor.js';

/** Where a new tensor goes and its element type. */
export interface CreateOptions {
  /** the backend (default: getBackend()) */
  backend?: Backend;
  /** the element type (default float32; int32 for an Int32Array or an integer arange) */
  dtype?: DType;
}

/** A nested array of numbers, e.g. [[1, 2], [3, 4]]. */
export type NestedArray = number | readonly NestedArray[];

function inferShape(v: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = (cur as readonly NestedArray[])[0] as NestedArray;
  }
  return shape;
}

function flatten(v: NestedArray, shape: number[], dim: number, out: number[]): void {
  if (dim === shape.length) {
    if (typeof v !== 'number')
      throw new TensorError('tensor', `ragged nested array: expected a number at depth ${dim}`);
    out.push(v);
    return;
  }
  if (!Array.isArray(v) || v.length !== shape[dim]) {
    throw new TensorError(
      'tensor',
      `ragged nested array: expected length ${shape[dim]} at depth ${dim} (shape ${formatShape(shape)})`,
    );
  }
  for (const x of v as readonly NestedArray[]) flatten(x, shape, dim + 1, out);
}

/**
 * Creates a tensor from a typed array, a flat number array with a shape, or nested arrays.
 * Int32Array input gives an int32 tensor (indices).
 *
 * @param values - A typed array, a flat number array, nested arrays, or a number (a scalar).
 * @param shape - The shape (default: the nested arrays' shape, or [length]).
 * @param opts - Backend and dtype.
 * @returns The new tensor.
 * @throws {@link TensorError} when nested arrays are ragged, the values do not fill `shape`, or an int32 value is not an
 *   integer within +-2^24.
 *
 * @example
 * ```ts
 * const a = tensor([[1, 2], [3, 4]]); // float32 (2, 2)
 * const b = tensor([1, 2, 3, 4, 5, 6], [2, 3]); // a flat array and a shape
 * const ids = tensor(Int32Array.from([5, 0, 2])); // int32 (3)
 * ```
 */
export function tensor(values: ArrayLike<number> | NestedArray, shape?: Shape, opts: CreateOptions = {}): Tensor {
  const backend = opts.backend ?? getBackend();
  let flat: ArrayLike<number>;
  let finalShape: number[];
  let dtype: DType = opts.dtype ?? 'float32';
  if (typeof values === 'number') {
    flat = [values];
    finalShape = [];
  } else if (Array.isArray(values) && (values.length === 0 || Array.isArray(values[0]))) {
    finalShape = inferShape(values as NestedArray);
    const out: number[] = [];
    flatten(values as NestedArray, finalShape, 0, out);
    flat = out;
  } else {
    flat = values as ArrayLike<number>;
    finalShape = [flat.length];
    if (values instanceof Int32Array && !opts.dtype) dtype = 'int32';
  }
  if (shape) {
    checkShape('tensor', shape);
    if (sizeOf(shape) !== flat.length) {
      throw new TensorError(
        'tensor',
        `${flat.length} values do not fill shape ${formatShape(shape)} (needs ${sizeOf(shape)})`,
      );
    }
    finalShape = [...shape];
  }
  if (dtype === 'int32') {
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i]!;
      if (!Number.isInteger(v) || Math.abs(v) > 2 ** 24) {
        throw new TensorError('tensor', `int32 tensor value ${v} at ${i} is not an integer within +-2^24`);
      }
    }
  }
  // Float64Array passes through, so a float64 backend (gradcheck) keeps full precision
  const data = flat instanceof Float32Array || flat instanceof Float64Array ? flat : Float64Array.from(flat);
  return new Tensor(backend, backend.upload(data), finalShape, dtype);
}

/** Another name for tensor. */
export const fromArray = tensor;

/**
 * A tensor of one repeated value.
 *
 * @param shape - The shape.
 * @param value - The value.
 * @param opts - Backend and dtype.
 * @returns The new tensor.
 */
export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  checkShape('full', shape);
  const backend = opts.backend ?? getBackend();
  return new Tensor(backend, backend.fill(sizeOf(shape), value), shape, opts.dtype ?? 'float32');
}

/**
 * @param shape - The shape.
 * @param opts - Backend and dtype.
 * @returns A tensor of zeros.
 */
export function zeros(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

/**
 * @param shape - The shape.
 * @param opts - Backend and dtype.
 * @returns A tensor of ones.
 */
export function ones(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/**
 * @param value - The value.
 * @param opts - Backend and dtype.
 * @returns A rank-0 tensor.
 */
export function scalar(value: number, opts: CreateOptions = {}): Tensor {
  return full([], value, opts);
}

/**
 * @param t - A tensor.
 * @returns Zeros of its shape and dtype, on its backend.
 */
export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0, { backend: t.backend, dtype: t.dtype });
}

/**
 * @param t - A tensor.
 * @returns Ones of its shape and dtype, on its backend.
 */
export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1, { backend: t.backend, dtype: t.dtype });
}

/**
 * [start, stop) with step, like NumPy's arange.
 *
 * @param start - The first value, or the stop when `stop` is omitted (then start is 0).
 * @param stop - The end (excluded).
 * @param step - The step (default 1).
 * @param opts - Backend and dtype (default int32 for integer start and step).
 * @returns The values, rank 1.
 * @throws {@link TensorError} when step is zero or not finite.
 */
export function arange(start: number, stop?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (step === 0 || !Number.isFinite(step))
    throw new TensorError('arange', `step must be finite and non-zero, got ${step}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  const backend = opts.backend ?? getBackend();
  const isInt = Number.isInteger(start) && Number.isInteger(step);
  return new Tensor(backend, backend.upload(data), [n], opts.dtype ?? (isInt ? 'int32' : 'float32'));
}

/** Options of the random creation functions. */
export interface RandomOptions extends CreateOptions {
  /** the generator to draw from (its state advances); default: a fresh Rng(seed) */
  rng?: Rng;
  /** seed of the fresh generator when no rng is given (default 0) */
  seed?: number;
}

function rngOf(opts: RandomOptions): Rng {
  return opts.rng ?? new RngClass(opts.seed ?? 0);
}

/**
 * Normal samples with the given mean and std, from a seeded generator.
 *
 * @param shape - The shape.
 * @param opts - mean (default 0), std (default 1), rng or seed, backend.
 * @returns The samples.
 */
export function randn(shape: Shape, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  checkShape('randn', shape);
  const rng = rngOf(opts);
  const { mean = 0, std = 1 } = opts;
  const n = sizeOf(shape);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = mean + std * rng.normal();
  const backend = opts.backend ?? getBackend();
  return new Tensor(backend, backend.upload(data), shape);
}

/**
 * Uniform samples in [low, high), from a seeded generator.
 *
 * @param shape - The shape.
 * @param opts - low (default 0), high (default 1), rng or seed, backend.
 * @returns The samples.
 */
export function rand(shape: Shape, opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  checkShape('rand', shape);
  const rng = rngOf(opts);
  const { low = 0, high = 1 } = opts;
  const n = sizeOf(shape);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = low + (high - low) * rng.uniform();
  const backend = opts.backend ?? getBackend();
  return new Tensor(backend, backend.upload(data), shape);
}
