import type { Backend } from '../backend.js';
import { getBackend } from '../engine.js';
import { TensorError } from '../errors.js';
import type { Rng } from '../random.js';
import { Rng as RngClass } from '../random.js';
import { checkShape, formatShape, type Shape, sizeOf } from '../shape.js';
import { type DType, Tensor } from '../tensor.js';

export interface CreateOptions {
  backend?: Backend;
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

export const fromArray = tensor;

export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  checkShape('full', shape);
  const backend = opts.backend ?? getBackend();
  return new Tensor(backend, backend.fill(sizeOf(shape), value), shape, opts.dtype ?? 'float32');
}

export function zeros(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

export function scalar(value: number, opts: CreateOptions = {}): Tensor {
  return full([], value, opts);
}

export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0, { backend: t.backend, dtype: t.dtype });
}

export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1, { backend: t.backend, dtype: t.dtype });
}

/** [start, stop) with step, like NumPy's arange. */
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

export interface RandomOptions extends CreateOptions {
  /** the generator to draw from (its state advances); default: a fresh Rng(seed) */
  rng?: Rng;
  seed?: number;
}

function rngOf(opts: RandomOptions): Rng {
  return opts.rng ?? new RngClass(opts.seed ?? 0);
}

/** Normal samples with the given mean and std, from a seeded generator. */
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

/** Uniform samples in [low, high), from a seeded generator. */
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
