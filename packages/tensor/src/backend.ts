/**
 * The Backend spec: the small set of primitives a device must implement. Everything above the primitives (softmax,
 * cross-entropy, norms, RoPE, SwiGLU...) is a registry op (registry/op.ts) with a composite of these primitives;
 * a backend speeds one up by registering a kernel for it.
 *
 * Storage is opaque to everyone but its backend (the type parameter S). Shapes are always passed in, so a backend never has to
 * track them. Every method returns a fresh storage that the caller owns (the Tensor layer disposes it
 * exactly once), except `adamwUpdate`, which updates its arguments in place.
 *
 * Index tensors (token ids, targets) are stored as float32 values; ids are exact up to 2^24.
 */
/** A storage as the rest of the library sees it: a handle only its backend reads. */
export type Storage = object;

import { UNARY_OPS } from './unary-ops.js';

export { UNARY_OPS };

/** An elementwise function of one input (the names in UNARY_OPS). */
export type UnaryOp = (typeof UNARY_OPS)[number];

/** An elementwise function of two broadcast inputs (eq and gt give 1 or 0). */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'gt';

/** A reduction over one axis. */
export type ReduceOp = 'sum' | 'max';

/** The sizes and layout of a (batched) matrix product C[M, N] = A[M, K] B[K, N]. */
export interface MatmulParams {
  /** number of matrix products; batch strides say how far each operand moves per product (0 = shared) */
  batch: number;
  /** rows of A and C */
  M: number;
  /** the shared (inner) dimension */
  K: number;
  /** columns of B and C */
  N: number;
  /** A is stored [K, M] (and read transposed) */
  transA: boolean;
  /** B is stored [N, K] (and read transposed) */
  transB: boolean;
  /** values between consecutive A operands (0: every product uses the same A) */
  aBatchStride: number;
  /** values between consecutive B operands (0: every product uses the same B) */
  bBatchStride: number;
}

/** The layout of a row-wise softmax: rows of `cols` values. */
export interface SoftmaxParams {
  /** number of rows */
  rows: number;
  /** values per row */
  cols: number;
  /** log-softmax instead of softmax */
  log: boolean;
  /**
   * Causal mask for attention scores laid out as rows of queries: with `queryLen` = Tq, row r is query
   * q = r % Tq at absolute position q + (cols - Tq), and may attend to keys j <= that position.
   * 0 means no mask.
   */
  causalQueryLen: number;
}

/** One AdamW step's hyperparameters. */
export interface AdamWParams {
  /** learning rate */
  lr: number;
  /** first-moment decay */
  beta1: number;
  /** second-moment decay */
  beta2: number;
  /** added to the denominator */
  eps: number;
  /** decoupled weight decay (0 = none) */
  weightDecay: number;
  /** 1-based step count, for bias correction */
  step: number;
  /** multiplies the gradient first (gradient clipping and accumulation averaging) */
  gradScale: number;
}

/** What a backend holds now. */
export interface BackendMemory {
  /** storages allocated and not yet disposed */
  buffers: number;
  /** bytes those storages hold */
  bytes: number;
}

/**
 * The Backend spec: the primitives every device implements (see the module comment above). Storages are opaque
 * handles of type S; shapes are always passed in; every method but adamwUpdate returns a fresh storage the caller owns.
 */
export interface Backend<S extends Storage = Storage> {
  /** the spec version the backend implements */
  readonly specificationVersion: 'v1';
  /** e.g. 'cpu' or 'gpu.js:webgpu' */
  readonly name: string;
  /** true when `downloadSync` works (CPU) */
  readonly synchronous: boolean;
  /**
   * Whether registered op kernels may run on this backend, per op name (absent: all may). A backend built for
   * comparison turns some or all off, and those ops take their composite of primitives.
   *
   * @param opName - A registry op's name.
   * @returns false when the op must take its composite.
   */
  kernelEnabled?(opName: string): boolean;

  /**
   * copies the values in (a float32 backend rounds Float64Array input)
   *
   * @param values - The values.
   * @returns A new storage holding them.
   */
  upload(values: Float32Array | Float64Array): S;
  /**
   * Reads values back (every backend).
   *
   * @param s - The storage.
   * @param size - Number of values to read.
   * @returns A fresh Float32Array.
   */
  download(s: S, size: number): Promise<Float32Array>;
  /**
   * Reads values back synchronously (synchronous backends only).
   *
   * @param s - The storage.
   * @param size - Number of values to read.
   * @returns A fresh Float32Array.
   */
  downloadSync?(s: S, size: number): Float32Array;
  /**
   * Frees a storage.
   *
   * @param s - The storage.
   */
  dispose(s: S): void;
  /**
   * Live storages and their bytes (leak checks).
   *
   * @returns The counts.
   */
  memory(): BackendMemory;

  /**
   * A storage of one repeated value.
   *
   * @param size - Number of values.
   * @param value - The value.
   * @returns The new storage.
   */
  fill(size: number, value: number): S;
  /**
   * Applies a unary op elementwise.
   *
   * @param op - The op.
   * @param x - The input.
   * @param size - Number of values.
   * @returns The result.
   */
  unary(op: UnaryOp, x: S, size: number): S;
  /**
   * elementwise with NumPy broadcasting; `outShape` is the broadcast shape, both inputs are right-aligned to it
   *
   * @param op - The op.
   * @param a - The first input.
   * @param aShape - Its shape.
   * @param b - The second input.
   * @param bShape - Its shape.
   * @param outShape - The broadcast shape.
   * @returns The result, outShape.
   */
  binary(
    op: BinaryOp,
    a: S,
    aShape: readonly number[],
    b: S,
    bShape: readonly number[],
    outShape: readonly number[],
  ): S;
  /**
   * reduces the middle axis of a tensor viewed as [outer, len, inner] -> [outer, inner]
   *
   * @param op - sum or max.
   * @param x - The input.
   * @param outer - Product of the axes before the reduced one.
   * @param len - Length of the reduced axis.
   * @param inner - Product of the axes after it.
   * @returns The result, [outer, inner].
   */
  reduce(op: ReduceOp, x: S, outer: number, len: number, inner: number): S;
  /**
   * Batched matrix product.
   *
   * @param a - A, [M, K] per product ([K, M] with transA).
   * @param b - B, [K, N] per product ([N, K] with transB).
   * @param p - Sizes, transposes and batch strides.
   * @returns C, [batch, M, N].
   */
  matmul(a: S, b: S, p: MatmulParams): S;
  /**
   * Reorders the axes, materializing a copy.
   *
   * @param x - The input.
   * @param shape - Its shape.
   * @param perm - Output axis i is input axis perm[i].
   * @returns The permuted values.
   */
  permute(x: S, shape: readonly number[], perm: readonly number[]): S;
  /**
   * the box [begin, begin + size) of x
   *
   * @param x - The input.
   * @param shape - Its shape.
   * @param begin - The box's first index per axis.
   * @param size - The box's size per axis.
   * @returns The box's values, shape `size`.
   */
  slice(x: S, shape: readonly number[], begin: readonly number[], size: readonly number[]): S;
  /**
   * x placed at `begin` inside zeros of `outShape` (slice's adjoint)
   *
   * @param x - The input.
   * @param shape - Its shape.
   * @param begin - Where x goes, per axis.
   * @param outShape - The output's shape.
   * @returns The padded values.
   */
  pad(x: S, shape: readonly number[], begin: readonly number[], outShape: readonly number[]): S;
  /**
   * Joins tensors along an axis.
   *
   * @param xs - The inputs.
   * @param shapes - Their shapes (equal except along `axis`).
   * @param axis - The axis to join along.
   * @returns The joined values.
   */
  concat(xs: readonly S[], shapes: readonly (readonly number[])[], axis: number): S;
  /**
   * rows of table [vocab, dim] picked by n indices -> [n, dim]; an index outside [0, vocab) is an error
   *
   * @param table - The table [vocab, dim].
   * @param vocab - Rows in the table.
   * @param dim - Row width.
   * @param indices - n row indices.
   * @param n - Number of indices.
   * @returns The rows, [n, dim].
   */
  gather(table: S, vocab: number, dim: number, indices: S, n: number): S;
  /**
   * gather's adjoint: out[vocab, dim] = sum over i with indices[i] = v of src[i]
   *
   * @param src - The values [n, dim].
   * @param n - Number of indices.
   * @param dim - Row width.
   * @param indices - n row indices.
   * @param vocab - Rows in the output.
   * @returns The sums, [vocab, dim].
   */
  scatterAdd(src: S, n: number, dim: number, indices: S, vocab: number): S;
  /**
   * in-place AdamW step on param, m, v (decoupled weight decay)
   *
   * @param param - The parameter, updated in place.
   * @param grad - Its gradient.
   * @param m - The first moment, updated in place.
   * @param v - The second moment, updated in place.
   * @param size - Number of values.
   * @param p - The step's hyperparameters.
   */
  adamwUpdate(param: S, grad: S, m: S, v: S, size: number, p: AdamWParams): void;
}
