/**
 * The Backend spec: the small set of primitives a device must implement, plus optional fused kernels.
 *
 * Storage is opaque to everyone but its backend. Shapes are always passed in, so a backend never has to
 * track them. Every method returns a fresh storage that the caller owns (the Tensor layer disposes it
 * exactly once), except `adamwUpdate`, which updates its arguments in place.
 *
 * Index tensors (token ids, targets) are stored as float32 values; ids are exact up to 2^24.
 */
export type Storage = object;

export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'tanh'
  | 'gelu'
  | 'silu'
  | 'relu'
  | 'sigmoid'
  | 'abs'
  | 'square'
  | 'reciprocal'
  /** derivative of the tanh-approximate GELU, for its backward rule */
  | 'geluGrad'
  /** derivative of SiLU, for its backward rule */
  | 'siluGrad'
  /** 1 where x > 0, else 0 (ReLU's derivative) */
  | 'step';

export const UNARY_OPS: readonly UnaryOp[] = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'tanh',
  'gelu',
  'silu',
  'relu',
  'sigmoid',
  'abs',
  'square',
  'reciprocal',
  'geluGrad',
  'siluGrad',
  'step',
];

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

export interface NormForwardParams {
  rows: number;
  dim: number;
  eps: number;
}

/**
 * Attention's head layout. The packed side is [batch, seq, parts * heads * headDim] (a fused QKV projection has
 * parts = 3: all of q, then all of k, then all of v in each row); the split side is `parts` tensors
 * [batch, heads, seq, headDim].
 */
export interface HeadsParams {
  batch: number;
  seq: number;
  heads: number;
  headDim: number;
  parts: number;
}

/**
 * Rotary position embedding on x [rows, seq, headDim] (rows = batch * heads), "rotate half" layout: the pair
 * (x[i], x[i + headDim/2]) at position startPos + t is rotated by the angle (startPos + t) * base^(-2i/headDim).
 */
export interface RopeParams {
  rows: number;
  seq: number;
  headDim: number;
  startPos: number;
  base: number;
  /** rotate by minus the angle: RoPE's backward, since the Jacobian of a rotation is its inverse */
  inverse: boolean;
  /** multiplies the result (attention folds 1/sqrt(headDim) into the queries' rotation); default 1 */
  scale?: number;
}

/**
 * Optional fused kernels. The ops layer uses them when present and the composite of primitives otherwise.
 * Members marked `?` were added after v1 and may be absent even from a backend that provides the rest.
 */
export interface FusedKernels {
  softmax(x: Storage, p: SoftmaxParams): Storage;
  /** dx from the softmax output y and upstream dy (log: y is the log-softmax output) */
  softmaxBackward(y: Storage, dy: Storage, p: SoftmaxParams): Storage;
  /** per-row negative log-likelihood of `targets` under softmax(logits); every target must be in [0, vocab) */
  crossEntropy(logits: Storage, targets: Storage, rows: number, vocab: number): Storage;
  /** d(sum_r w_r * loss_r)/dlogits where w = dLoss (one weight per row) */
  crossEntropyBackward(logits: Storage, targets: Storage, dLoss: Storage, rows: number, vocab: number): Storage;
  /** y = x * rstd * g (g optional); saves rstd per row */
  rmsnormForward(x: Storage, g: Storage | null, p: NormForwardParams): { y: Storage; rstd: Storage };
  rmsnormBackward(
    dy: Storage,
    x: Storage,
    g: Storage | null,
    rstd: Storage,
    rows: number,
    dim: number,
  ): { dx: Storage; dg: Storage | null };
  /** y = (x - mean) * rstd * g + b (g, b optional); saves mean and rstd per row */
  layernormForward(
    x: Storage,
    g: Storage | null,
    b: Storage | null,
    p: NormForwardParams,
  ): { y: Storage; mean: Storage; rstd: Storage };
  layernormBackward(
    dy: Storage,
    x: Storage,
    g: Storage | null,
    mean: Storage,
    rstd: Storage,
    rows: number,
    dim: number,
    withBias: boolean,
  ): { dx: Storage; dg: Storage | null; db: Storage | null };
  /** packed [B, T, parts*H*hd] -> `parts` storages [B, H, T, hd] (attention's QKV split; also mergeHeads' adjoint) */
  splitHeads?(x: Storage, p: HeadsParams): Storage[];
  /** `parts` storages [B, H, T, hd] -> packed [B, T, parts*H*hd] (splitHeads' inverse and adjoint) */
  mergeHeads?(xs: readonly Storage[], p: HeadsParams): Storage;
  /** RoPE (see RopeParams); with `inverse` it is its own backward */
  rope?(x: Storage, p: RopeParams): Storage;
  /** y * op(x) elementwise in one pass: a backward rule's dy * f'(x) (e.g. op = 'geluGrad') */
  unaryMul?(op: UnaryOp, x: Storage, y: Storage, size: number): Storage;
  /** SwiGLU's gate: silu(a) * b */
  swiglu?(a: Storage, b: Storage, size: number): Storage;
  /** its backward for upstream dy: db = dy * silu(a), da = dy * b * silu'(a) */
  swigluBackward?(a: Storage, b: Storage, dy: Storage, size: number): { da: Storage; db: Storage };
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

export interface Backend {
  readonly specificationVersion: 'v1';
  /** e.g. 'cpu' or 'gpu.js:webgpu' */
  readonly name: string;
  /** true when `downloadSync` works (CPU) */
  readonly synchronous: boolean;
  /** optional fused kernels; absent ones fall back to composites of the primitives below */
  readonly fused: Partial<FusedKernels>;

  /** copies the values in (a float32 backend rounds Float64Array input) */
  upload(values: Float32Array | Float64Array): Storage;
  download(s: Storage, size: number): Promise<Float32Array>;
  downloadSync?(s: Storage, size: number): Float32Array;
  dispose(s: Storage): void;
  memory(): BackendMemory;

  fill(size: number, value: number): Storage;
  unary(op: UnaryOp, x: Storage, size: number): Storage;
  /** elementwise with NumPy broadcasting; `outShape` is the broadcast shape, both inputs are right-aligned to it */
  binary(
    op: BinaryOp,
    a: Storage,
    aShape: readonly number[],
    b: Storage,
    bShape: readonly number[],
    outShape: readonly number[],
  ): Storage;
  /** reduces the middle axis of a tensor viewed as [outer, len, inner] -> [outer, inner] */
  reduce(op: ReduceOp, x: Storage, outer: number, len: number, inner: number): Storage;
  matmul(a: Storage, b: Storage, p: MatmulParams): Storage;
  permute(x: Storage, shape: readonly number[], perm: readonly number[]): Storage;
  /** the box [begin, begin + size) of x */
  slice(x: Storage, shape: readonly number[], begin: readonly number[], size: readonly number[]): Storage;
  /** x placed at `begin` inside zeros of `outShape` (slice's adjoint) */
  pad(x: Storage, shape: readonly number[], begin: readonly number[], outShape: readonly number[]): Storage;
  concat(xs: readonly Storage[], shapes: readonly (readonly number[])[], axis: number): Storage;
  /** rows of table [vocab, dim] picked by n indices -> [n, dim]; an index outside [0, vocab) is an error */
  gather(table: Storage, vocab: number, dim: number, indices: Storage, n: number): Storage;
  /** gather's adjoint: out[vocab, dim] = sum over i with indices[i] = v of src[i] */
  scatterAdd(src: Storage, n: number, dim: number, indices: Storage, vocab: number): Storage;
  /** in-place AdamW step on param, m, v (decoupled weight decay) */
  adamwUpdate(param: Storage, grad: Storage, m: Storage, v: Storage, size: number, p: AdamWParams): void;
}
