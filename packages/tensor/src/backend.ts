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

export type UnaryOp = (typeof UNARY_OPS)[number];

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'gt';

export type ReduceOp = 'sum' | 'max';

export interface MatmulParams {
  /** number of matrix products; batch strides say how far each operand moves per product (0 = shared) */
  batch: number;
  M: number;
  K: number;
  N: number;
  /** A is stored [K, M] (and read transposed) */
  transA: boolean;
  /** B is stored [N, K] (and read transposed) */
  transB: boolean;
  aBatchStride: number;
  bBatchStride: number;
}

export interface SoftmaxParams {
  rows: number;
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

export interface AdamWParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count, for bias correction */
  step: number;
  /** multiplies the gradient first (gradient clipping and accumulation averaging) */
  gradScale: number;
}

export interface BackendMemory {
  /** storages allocated and not yet disposed */
  buffers: number;
  bytes: number;
}

export interface Backend<S extends Storage = Storage> {
  readonly specificationVersion: 'v1';
  /** e.g. 'cpu' or 'gpu.js:webgpu' */
  readonly name: string;
  /** true when `downloadSync` works (CPU) */
  readonly synchronous: boolean;
  /**
   * Whether registered op kernels may run on this backend, per op name (absent: all may). A backend built for
   * comparison turns some or all off, and those ops take their composite of primitives.
   */
  kernelEnabled?(opName: string): boolean;

  /** copies the values in (a float32 backend rounds Float64Array input) */
  upload(values: Float32Array | Float64Array): S;
  download(s: S, size: number): Promise<Float32Array>;
  downloadSync?(s: S, size: number): Float32Array;
  dispose(s: S): void;
  memory(): BackendMemory;

  fill(size: number, value: number): S;
  unary(op: UnaryOp, x: S, size: number): S;
  /** elementwise with NumPy broadcasting; `outShape` is the broadcast shape, both inputs are right-aligned to it */
  binary(
    op: BinaryOp,
    a: S,
    aShape: readonly number[],
    b: S,
    bShape: readonly number[],
    outShape: readonly number[],
  ): S;
  /** reduces the middle axis of a tensor viewed as [outer, len, inner] -> [outer, inner] */
  reduce(op: ReduceOp, x: S, outer: number, len: number, inner: number): S;
  matmul(a: S, b: S, p: MatmulParams): S;
  permute(x: S, shape: readonly number[], perm: readonly number[]): S;
  /** the box [begin, begin + size) of x */
  slice(x: S, shape: readonly number[], begin: readonly number[], size: readonly number[]): S;
  /** x placed at `begin` inside zeros of `outShape` (slice's adjoint) */
  pad(x: S, shape: readonly number[], begin: readonly number[], outShape: readonly number[]): S;
  concat(xs: readonly S[], shapes: readonly (readonly number[])[], axis: number): S;
  /** rows of table [vocab, dim] picked by n indices -> [n, dim]; an index outside [0, vocab) is an error */
  gather(table: S, vocab: number, dim: number, indices: S, n: number): S;
  /** gather's adjoint: out[vocab, dim] = sum over i with indices[i] = v of src[i] */
  scatterAdd(src: S, n: number, dim: number, indices: S, vocab: number): S;
  /** in-place AdamW step on param, m, v (decoupled weight decay) */
  adamwUpdate(param: S, grad: S, m: S, v: S, size: number, p: AdamWParams): void;
}
