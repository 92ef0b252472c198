import {
  GEMM_RELAXED_SHARED_WASM,
  GEMM_RELAXED_WASM,
  KERNELS_SIMD_SHARED_WASM,
  KERNELS_SIMD_WASM,
} from './kernels.gen.js';

/**
 * The CPU backend's one WebAssembly kernel module (the GEMM micro-kernels and every SIMD routine: elementwise,
 * softmax, cross-entropy, norms, AdamW, RoPE, head split/merge), compiled once per process: feature detection,
 * the typed slice of the WebAssembly API, and the module's exports. The GEMM (wasm-gemm.ts) and the tensor arena
 * (wasm-arena.ts) instantiate it.
 */

/** A module whose one function returns a v128 const: validates only where WASM SIMD is implemented. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

/** A module whose one function returns relaxed_madd of three v128 consts: validates only where relaxed SIMD is on. */
const RELAXED_PROBE = (() => {
  const zeros = [253, 12, ...new Array<number>(16).fill(0)];
  const body = [0, ...zeros, ...zeros, ...zeros, 253, 133, 2, 11];
  return new Uint8Array([
    ...[0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0],
    ...[10, body.length + 2, 1, body.length, ...body],
  ]);
})();

export const PAGE = 65536;

// The slice of the WebAssembly JS API used here, typed locally: the package compiles without lib.dom, and hosts
// without WebAssembly simply get the TS kernel.
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
  Memory: new (desc: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}
export const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** The exports of the kernel module (wasm/gen-kernels.mjs + wasm/gen-elementwise.mjs); pointers are byte addresses. */
export interface KernelExports {
  /** @returns The first free, 64-byte aligned address after the static data. */
  heapBase(): number;
  /** @returns The bytes of scratch gemm's `ws` needs. */
  workspaceBytes(): number;
  /** @returns The GEMM's register tile: (MR << 8) | NR. */
  tileShape(): number;
  /**
   * C[M, N] (row stride ldc) = op(A) op(B).
   *
   * @param ws - Byte address of workspaceBytes() of scratch.
   * @param a - Byte address of A (or of input a).
   * @param lda - A's row stride, in floats.
   * @param b - Byte address of B (or of input b).
   * @param ldb - B's row stride, in floats.
   * @param c - Byte address of C.
   * @param ldc - C's row stride, in floats.
   * @param M - Rows of C.
   * @param K - The inner dimension.
   * @param N - Columns of C.
   * @param transA - 1: A is stored [K, M].
   * @param transB - 1: B is stored [N, K].
   */
  gemm(
    ws: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    M: number,
    K: number,
    N: number,
    transA: number,
    transB: number,
  ): void;
  /**
   * batch products with dense operands; C is batch x [M, N] contiguous.
   *
   * @param ws - Byte address of workspaceBytes() of scratch.
   * @param a - Byte address of A (or of input a).
   * @param aStride - Floats between consecutive A operands (0 = shared).
   * @param b - Byte address of B (or of input b).
   * @param bStride - Floats between consecutive B operands (0 = shared).
   * @param c - Byte address of C.
   * @param batch - Number of products.
   * @param M - Rows of C.
   * @param K - The inner dimension.
   * @param N - Columns of C.
   * @param transA - 1: A is stored [K, M].
   * @param transB - 1: B is stored [N, K].
   */
  gemmBatched(
    ws: number,
    a: number,
    aStride: number,
    b: number,
    bStride: number,
    c: number,
    batch: number,
    M: number,
    K: number,
    N: number,
    transA: number,
    transB: number,
  ): void;
  /**
   * out[0:n] = op(x[0:n]).
   *
   * @param op - The op, by index (unary: in UNARY_OPS; binary: in add, sub, mul, div).
   * @param x - Byte address of the input x.
   * @param out - Byte address of the output.
   * @param n - Number of values.
   */
  unary(op: number, x: number, out: number, n: number): void;
  /**
   * out[0:n] = y[0:n] * op(x[0:n]).
   *
   * @param op - The op, by index (unary: in UNARY_OPS; binary: in add, sub, mul, div).
   * @param x - Byte address of the input x.
   * @param y - Byte address of y.
   * @param out - Byte address of the output.
   * @param n - Number of values.
   */
  unaryMul(op: number, x: number, y: number, out: number, n: number): void;
  /**
   * SwiGLU's gate: out = silu(a) b.
   *
   * @param a - Byte address of A (or of input a).
   * @param b - Byte address of B (or of input b).
   * @param out - Byte address of the output.
   * @param n - Number of values.
   */
  swiglu(a: number, b: number, out: number, n: number): void;
  /**
   * SwiGLU backward: da and db from g.
   *
   * @param a - Byte address of A (or of input a).
   * @param b - Byte address of B (or of input b).
   * @param g - Byte address of the gradient g (norms: of the gain, 0 = none).
   * @param da - Byte address of the output da.
   * @param db - Byte address of the output db.
   * @param n - Number of values.
   */
  swigluBackward(a: number, b: number, g: number, da: number, db: number, n: number): void;
  /**
   * out[0:n] = a op b in one of five layouts.
   *
   * @param op - The op, by index (unary: in UNARY_OPS; binary: in add, sub, mul, div).
   * @param mode - The layout, by index in same, scalarRight, rowRight, scalarLeft, rowLeft.
   * @param a - Byte address of A (or of input a).
   * @param b - Byte address of B (or of input b).
   * @param out - Byte address of the output.
   * @param n - Number of values.
   * @param nb - Floats in the row operand (row layouts).
   */
  binary(op: number, mode: number, a: number, b: number, out: number, n: number, nb: number): void;
  /**
   * Per-row cross-entropy.
   *
   * @param logits - Byte address of the [rows, vocab] logits.
   * @param targets - Byte address of the targets (as floats).
   * @param out - Byte address of the output.
   * @param rows - Number of rows.
   * @param vocab - Row length.
   */
  crossEntropy(logits: number, targets: number, out: number, rows: number, vocab: number): void;
  /**
   * dlogits[r] = dLoss[r] (softmax(logits[r]) - onehot(t[r])).
   *
   * @param logits - Byte address of the [rows, vocab] logits.
   * @param targets - Byte address of the targets (as floats).
   * @param dLoss - Byte address of the loss gradient.
   * @param dn - Entries in dLoss: 1 or rows.
   * @param out - Byte address of the output.
   * @param rows - Number of rows.
   * @param vocab - Row length.
   */
  crossEntropyBackward(
    logits: number,
    targets: number,
    dLoss: number,
    dn: number,
    out: number,
    rows: number,
    vocab: number,
  ): void;
  /**
   * Sum over the middle axis of [outer, len, inner], accumulated in float64.
   *
   * @param x - Byte address of the input x.
   * @param out - Byte address of the output.
   * @param outer - Product of the axes before the reduced one.
   * @param len - Length of the reduced axis.
   * @param inner - Product of the axes after it.
   * @param acc - Byte address of float64 scratch for the accumulation.
   */
  reduceSum(x: number, out: number, outer: number, len: number, inner: number, acc: number): void;
  /**
   * Row softmax / log-softmax, optionally causal.
   *
   * @param x - Byte address of the input x.
   * @param out - Byte address of the output.
   * @param rows - Number of rows.
   * @param cols - Values per row.
   * @param tq - Queries of the causal mask (0 = no mask).
   * @param log - 1: log-softmax.
   */
  softmax(x: number, out: number, rows: number, cols: number, tq: number, log: number): void;
  /**
   * softmax's backward.
   *
   * @param y - Byte address of y.
   * @param dy - Byte address of the output gradient.
   * @param out - Byte address of the output.
   * @param rows - Number of rows.
   * @param cols - Values per row.
   * @param tq - Queries of the causal mask (0 = no mask).
   * @param log - 1: log-softmax.
   */
  softmaxBackward(y: number, dy: number, out: number, rows: number, cols: number, tq: number, log: number): void;
  /**
   * RMSNorm rows.
   *
   * @param x - Byte address of the input x.
   * @param g - Byte address of the gradient g (norms: of the gain, 0 = none).
   * @param y - Byte address of y.
   * @param rstd - Byte address of the per-row rstd.
   * @param rows - Number of rows.
   * @param dim - Features per row.
   * @param eps - Added under the square root.
   */
  rmsnormForward(x: number, g: number, y: number, rstd: number, rows: number, dim: number, eps: number): void;
  /**
   * RMSNorm backward.
   *
   * @param dy - Byte address of the output gradient.
   * @param x - Byte address of the input x.
   * @param g - Byte address of the gradient g (norms: of the gain, 0 = none).
   * @param rstd - Byte address of the per-row rstd.
   * @param dx - Byte address of the output dx.
   * @param dg - Byte address of the output dg.
   * @param acc - Byte address of float64 scratch for the accumulation.
   * @param rows - Number of rows.
   * @param dim - Features per row.
   */
  rmsnormBackward(
    dy: number,
    x: number,
    g: number,
    rstd: number,
    dx: number,
    dg: number,
    acc: number,
    rows: number,
    dim: number,
  ): void;
  /**
   * LayerNorm rows.
   *
   * @param x - Byte address of the input x.
   * @param g - Byte address of the gradient g (norms: of the gain, 0 = none).
   * @param b - Byte address of B (or of input b).
   * @param y - Byte address of y.
   * @param mean - Byte address of the per-row mean.
   * @param rstd - Byte address of the per-row rstd.
   * @param rows - Number of rows.
   * @param dim - Features per row.
   * @param eps - Added under the square root.
   */
  layernormForward(
    x: number,
    g: number,
    b: number,
    y: number,
    mean: number,
    rstd: number,
    rows: number,
    dim: number,
    eps: number,
  ): void;
  /**
   * LayerNorm backward.
   *
   * @param dy - Byte address of the output gradient.
   * @param x - Byte address of the input x.
   * @param g - Byte address of the gradient g (norms: of the gain, 0 = none).
   * @param mean - Byte address of the per-row mean.
   * @param rstd - Byte address of the per-row rstd.
   * @param dx - Byte address of the output dx.
   * @param dg - Byte address of the output dg.
   * @param db - Byte address of the output db.
   * @param acc - Byte address of float64 scratch for the accumulation.
   * @param rows - Number of rows.
   * @param dim - Features per row.
   */
  layernormBackward(
    dy: number,
    x: number,
    g: number,
    mean: number,
    rstd: number,
    dx: number,
    dg: number,
    db: number,
    acc: number,
    rows: number,
    dim: number,
  ): void;
  /**
   * In-place AdamW with decoupled decay (coefficients combined by the caller).
   *
   * @param p - Byte address of the parameter (updated in place).
   * @param g - Byte address of the gradient g (norms: of the gain, 0 = none).
   * @param m - Byte address of the first moment (updated in place).
   * @param v - Byte address of the second moment (updated in place).
   * @param n - Number of values.
   * @param beta1 - First-moment decay.
   * @param c1 - 1 - beta1.
   * @param beta2 - Second-moment decay.
   * @param c2 - 1 - beta2.
   * @param stepSize - lr / (1 - beta1^step).
   * @param invBc2 - 1 / (1 - beta2^step).
   * @param eps - Added under the square root.
   * @param decay - 1 - lr * weightDecay.
   * @param gradScale - Multiplies the gradient first.
   */
  adamw(
    p: number,
    g: number,
    m: number,
    v: number,
    n: number,
    beta1: number,
    c1: number,
    beta2: number,
    c2: number,
    stepSize: number,
    invBc2: number,
    eps: number,
    decay: number,
    gradScale: number,
  ): void;
  /**
   * RoPE on x [rows, T, hd].
   *
   * @param x - Byte address of the input x.
   * @param out - Byte address of the output.
   * @param cos - Byte address of the cos table [positions, hd/2].
   * @param sin - Byte address of the sin table.
   * @param rows - Number of rows.
   * @param T - Sequence length.
   * @param hd - Head width.
   * @param t0 - Table row of the first position.
   * @param cs - Multiplies cos (the scale).
   * @param ss - Multiplies sin (+-scale; the sign selects the inverse rotation).
   */
  rope(
    x: number,
    out: number,
    cos: number,
    sin: number,
    rows: number,
    T: number,
    hd: number,
    t0: number,
    cs: number,
    ss: number,
  ): void;
  /**
   * Part q of attention's head split and its inverse.
   *
   * @param packed - Byte address of the packed [B, T, P, H, hd] tensor.
   * @param part - Byte address of part q, [B, H, T, hd].
   * @param B - Batch size.
   * @param T - Sequence length.
   * @param H - Number of heads.
   * @param hd - Head width.
   * @param P - Parts packed per row.
   * @param q - Which part.
   * @param toHeads - 1: packed -> heads; 0: heads -> packed.
   */
  heads(
    packed: number,
    part: number,
    B: number,
    T: number,
    H: number,
    hd: number,
    P: number,
    q: number,
    toHeads: number,
  ): void;
}

/**
 * Whether this runtime validates WASM SIMD (the fast CPU kernels need it).
 *
 * @returns True where WASM SIMD is implemented.
 */
export function wasmSimdSupported(): boolean {
  try {
    return wasmApi?.validate(SIMD_PROBE) === true;
  } catch {
    return false;
  }
}

/**
 * The GEMM micro-kernel's arithmetic: 'relaxed' is one fused multiply-add per vector (`f32x4.relaxed_madd`, an FMA
 * on x64 CPUs with FMA3 and on ARM), 'plain' a multiply then an add. Relaxed SIMD rounds once instead of twice, so
 * products differ from plain SIMD in the last bits (both are within float32 rounding of the exact product).
 */
export type GemmSimd = 'relaxed' | 'plain';

let relaxedChecked: boolean | undefined;

interface NodeProcess {
  env?: Record<string, string | undefined>;
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
}

/**
 * Whether this engine runs relaxed SIMD. Node 22+ and current browsers have it on; Node 20 has it behind V8's
 * `--experimental-wasm-relaxed-simd`, which takes effect for modules compiled after it is set, so on Node 20 this
 * sets that flag (it enables a standard instruction set and changes nothing else; TINYFORMER_WASM_SIMD=plain keeps
 * it unset).
 *
 * @returns True where a module using `f32x4.relaxed_madd` validates.
 */
export function relaxedSimdSupported(): boolean {
  if (relaxedChecked !== undefined) return relaxedChecked;
  const api = wasmApi;
  relaxedChecked = false;
  try {
    if (!api || !wasmSimdSupported()) return false;
    if (api.validate(RELAXED_PROBE)) return (relaxedChecked = true);
    const proc = (globalThis as { process?: NodeProcess }).process;
    if (proc?.env?.TINYFORMER_WASM_SIMD === 'plain' || !proc?.versions?.node?.startsWith('20.')) return false;
    const v8 = proc.getBuiltinModule?.('node:v8') as { setFlagsFromString?: (flags: string) => void } | undefined;
    v8?.setFlagsFromString?.('--experimental-wasm-relaxed-simd');
    relaxedChecked = api.validate(RELAXED_PROBE);
  } catch {
    relaxedChecked = false;
  }
  return relaxedChecked;
}

/**
 * The GEMM arithmetic a backend gets by default: 'relaxed' where the engine has relaxed SIMD, else 'plain';
 * the environment variable TINYFORMER_WASM_SIMD=plain forces plain.
 *
 * @returns The mode.
 */
export function defaultGemmSimd(): GemmSimd {
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (proc?.env?.TINYFORMER_WASM_SIMD === 'plain') return 'plain';
  return relaxedSimdSupported() ? 'relaxed' : 'plain';
}

const compiled: { plain?: object; shared?: object; relaxedPlain?: object; relaxedShared?: object } = {};

/** The compiled kernel module (cached): the shared-memory build for threads and the tensor arena. */
export function kernelModule(api: WasmApi, shared: boolean): object {
  // synchronous compile is allowed for small modules (a few KB) on every engine we target
  if (shared) return (compiled.shared ??= new api.Module(decodeBase64(KERNELS_SIMD_SHARED_WASM)));
  return (compiled.plain ??= new api.Module(decodeBase64(KERNELS_SIMD_WASM)));
}

/** The compiled GEMM-only module with the relaxed-SIMD micro-kernel (cached); call only if relaxedSimdSupported(). */
function relaxedGemmModule(api: WasmApi, shared: boolean): object {
  if (shared) return (compiled.relaxedShared ??= new api.Module(decodeBase64(GEMM_RELAXED_SHARED_WASM)));
  return (compiled.relaxedPlain ??= new api.Module(decodeBase64(GEMM_RELAXED_WASM)));
}

/** An instantiated kernel module, with the GEMM from the relaxed module where asked for. */
export interface KernelInstance {
  exports: KernelExports;
  /** the module whose `gemm` and `gemmBatched` the exports use */
  gemmModule: object;
  /** the kernel module (every other export) */
  kernelModule: object;
  /** the GEMM's arithmetic */
  simd: GemmSimd;
}

/**
 * Instantiates the kernel module over `memory`; with simd 'relaxed' (and relaxed SIMD available) the GEMM-only
 * relaxed module is instantiated over the same memory and its `gemm`/`gemmBatched` replace the plain ones. The two
 * modules share blocking constants, workspace size and tile, and the relaxed one has no data segment (checked when
 * it is built), so it writes nothing into the memory when instantiated.
 */
export function instantiateKernels(api: WasmApi, shared: boolean, memory: WasmMemory, simd: GemmSimd): KernelInstance {
  const module = kernelModule(api, shared);
  const exports = new api.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  if (simd === 'plain' || !relaxedSimdSupported()) {
    return { exports, gemmModule: module, kernelModule: module, simd: 'plain' };
  }
  const gemmModule = relaxedGemmModule(api, shared);
  const gemm = new api.Instance(gemmModule, { env: { memory } }).exports as unknown as KernelExports;
  if (gemm.workspaceBytes() !== exports.workspaceBytes() || gemm.tileShape() !== exports.tileShape()) {
    throw new Error('the relaxed GEMM module was built with other blocking constants than the kernel module');
  }
  const merged = { ...exports, gemm: gemm.gemm, gemmBatched: gemm.gemmBatched };
  return { exports: merged, gemmModule, kernelModule: module, simd: 'relaxed' };
}

export function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// arithmetic, not bitwise: addresses may pass 2^31
export const align64 = (n: number) => Math.ceil(n / 64) * 64;
export const WASM32_BYTES = 2 ** 32;
