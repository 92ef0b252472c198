import { KERNELS_SIMD_SHARED_WASM, KERNELS_SIMD_WASM } from './kernels.gen.js';

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
  heapBase(): number;
  workspaceBytes(): number;
  tileShape(): number;
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
  unary(op: number, x: number, out: number, n: number): void;
  unaryMul(op: number, x: number, y: number, out: number, n: number): void;
  swiglu(a: number, b: number, out: number, n: number): void;
  swigluBackward(a: number, b: number, g: number, da: number, db: number, n: number): void;
  binary(op: number, mode: number, a: number, b: number, out: number, n: number, nb: number): void;
  crossEntropy(logits: number, targets: number, out: number, rows: number, vocab: number): void;
  crossEntropyBackward(
    logits: number,
    targets: number,
    dLoss: number,
    dn: number,
    out: number,
    rows: number,
    vocab: number,
  ): void;
  reduceSum(x: number, out: number, outer: number, len: number, inner: number, acc: number): void;
  softmax(x: number, out: number, rows: number, cols: number, tq: number, log: number): void;
  softmaxBackward(y: number, dy: number, out: number, rows: number, cols: number, tq: number, log: number): void;
  rmsnormForward(x: number, g: number, y: number, rstd: number, rows: number, dim: number, eps: number): void;
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

export function wasmSimdSupported(): boolean {
  try {
    return wasmApi?.validate(SIMD_PROBE) === true;
  } catch {
    return false;
  }
}

const compiled: { plain?: object; shared?: object } = {};

/** The compiled kernel module (cached): the shared-memory build for threads and the tensor arena. */
export function kernelModule(api: WasmApi, shared: boolean): object {
  // synchronous compile is allowed for small modules (a few KB) on every engine we target
  if (shared) return (compiled.shared ??= new api.Module(decodeBase64(KERNELS_SIMD_SHARED_WASM)));
  return (compiled.plain ??= new api.Module(decodeBase64(KERNELS_SIMD_WASM)));
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
