import type { MatmulParams } from '../../backend.js';
import { type GemmProvider, referenceGemm } from '../gemm.js';
import { GEMM_SIMD_WASM, GEMM_TILE } from './kernels.gen.js';

/** A module whose one function returns a v128 const: validates only where WASM SIMD is implemented. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

const PAGE = 65536;

// The slice of the WebAssembly JS API used here, typed locally: the package compiles without lib.dom, and hosts
// without WebAssembly simply get the TS kernel.
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
  Memory: new (desc: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

interface GemmExports {
  heapBase(): number;
  workspaceBytes(): number;
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
}

export interface WasmGemmProvider extends GemmProvider {
  batched(A: Float32Array, B: Float32Array, C: Float32Array, p: MatmulParams): void;
  /** bytes of wasm linear memory held (grows to the largest operands seen, never shrinks) */
  memoryBytes(): number;
}

export function wasmSimdSupported(): boolean {
  try {
    return wasmApi?.validate(SIMD_PROBE) === true;
  } catch {
    return false;
  }
}

let compiled: object | undefined;

function gemmModule(api: WasmApi): object {
  // synchronous compile is allowed for small modules (a few KB) on every engine we target
  compiled ??= new api.Module(decodeBase64(GEMM_SIMD_WASM));
  return compiled;
}

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const align64 = (n: number) => (n + 63) & ~63;

/**
 * Single-threaded WASM SIMD GEMM (AssemblyScript, 2x16 register tile, packed MC/KC/NC blocking). Operands are
 * copied into the module's own linear memory per call (about 10% of kernel time at 768x128x512), which keeps
 * tensors plain Float32Arrays. Returns null where WASM SIMD is unavailable, so callers fall back to the TS kernel.
 */
export function createWasmGemm(): WasmGemmProvider | null {
  if (!wasmApi || !wasmSimdSupported()) return null;
  let exp: GemmExports;
  const memory = new wasmApi.Memory({ initial: 32 });
  try {
    const instance = new wasmApi.Instance(gemmModule(wasmApi), { env: { memory } });
    exp = instance.exports as unknown as GemmExports;
  } catch {
    return null;
  }
  const ws = exp.heapBase();
  const dataBase = align64(ws + exp.workspaceBytes());
  let f32 = new Float32Array(memory.buffer);

  // grows memory to hold `end` bytes and returns a live view (growing detaches the old non-shared buffer)
  const view = (end: number): Float32Array => {
    const have = memory.buffer.byteLength;
    if (end > have) memory.grow(Math.ceil((end - have) / PAGE));
    if (f32.buffer !== memory.buffer) f32 = new Float32Array(memory.buffer);
    return f32;
  };

  const gemm = (
    A: Float32Array,
    aOff: number,
    B: Float32Array,
    bOff: number,
    C: Float32Array,
    cOff: number,
    M: number,
    K: number,
    N: number,
    transA: boolean,
    transB: boolean,
  ): void => {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
      C.fill(0, cOff, cOff + M * N);
      return;
    }
    const pa = dataBase;
    const pb = align64(pa + 4 * M * K);
    const pc = align64(pb + 4 * K * N);
    const mem = view(pc + 4 * M * N);
    mem.set(A.subarray(aOff, aOff + M * K), pa >> 2);
    mem.set(B.subarray(bOff, bOff + K * N), pb >> 2);
    exp.gemm(ws, pa, transA ? M : K, pb, transB ? K : N, pc, N, M, K, N, +transA, +transB);
    C.set(mem.subarray(pc >> 2, (pc >> 2) + M * N), cOff);
  };

  const batched = (A: Float32Array, B: Float32Array, C: Float32Array, p: MatmulParams): void => {
    const { batch, M, K, N, transA, transB, aBatchStride, bBatchStride } = p;
    if (batch <= 0 || M <= 0 || N <= 0) return;
    // a shared B under an untransposed, densely batched A is one tall product
    if (batch === 1 || (bBatchStride === 0 && !transA && aBatchStride === M * K)) {
      gemm(A, 0, B, 0, C, 0, batch * M, K, N, transA, transB);
      return;
    }
    if (K <= 0) {
      C.fill(0, 0, batch * M * N);
      return;
    }
    const spanA = (batch - 1) * aBatchStride + M * K;
    const spanB = (batch - 1) * bBatchStride + K * N;
    if (spanA > A.length || spanB > B.length || batch * M * N > C.length) {
      throw new RangeError(`batched matmul operands too short for ${batch} x [${M}, ${K}] x [${K}, ${N}]`);
    }
    const pa = dataBase;
    const pb = align64(pa + 4 * spanA);
    const pc = align64(pb + 4 * spanB);
    const mem = view(pc + 4 * batch * M * N);
    mem.set(A.subarray(0, spanA), pa >> 2);
    mem.set(B.subarray(0, spanB), pb >> 2);
    exp.gemmBatched(ws, pa, aBatchStride, pb, bBatchStride, pc, batch, M, K, N, +transA, +transB);
    C.set(mem.subarray(pc >> 2, (pc >> 2) + batch * M * N));
  };

  return { name: `wasm-simd ${GEMM_TILE}`, gemm, batched, memoryBytes: () => memory.buffer.byteLength };
}

let cachedDefault: GemmProvider | undefined;

/** The CPU backend's default: one shared wasm provider per process (calls are synchronous), else the TS kernel. */
export function defaultGemmProvider(): GemmProvider {
  cachedDefault ??= createWasmGemm() ?? referenceGemm;
  return cachedDefault;
}
