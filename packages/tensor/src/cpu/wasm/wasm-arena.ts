import type { MatmulParams } from '../../backend.js';
import { type GemmFn, type GemmProvider, referenceGemm } from '../gemm.js';
import { createGemmCore, type GemmCore, gemmEdgeCase, gemmName, type WasmThreadStats } from './wasm-gemm.js';
import {
  align64,
  defaultGemmSimd,
  type GemmSimd,
  instantiateKernels,
  type KernelExports,
  PAGE,
  type WasmMemory,
  wasmApi,
  wasmSimdSupported,
} from './wasm-module.js';
import type { ParallelKernel } from './wasm-threads.js';

/**
 * The padded block size (in floats) for a tensor of n floats: at least n + 4, a multiple of 16, and above 256 floats
 * rounded up to one of 4 sizes per power of two (at most 25% waste). The rounding lets workloads whose shapes change
 * every call (decoding token by token, evaluation on another batch size) reuse freed blocks of nearby sizes; with
 * exact sizes each new shape took fresh memory, and sampling 300 tokens without the KV cache grew to 2.7 GB.
 */
export function blockFloats(n: number): number {
  const need = Math.ceil((n + 4) / 16) * 16;
  if (need <= 256) return need;
  const step = 2 ** Math.floor(Math.log2(need)) / 4;
  return Math.ceil(need / step) * step;
}

/**
 * The CPU backend's tensor arena (docs/cpu-simd.md §8.2): float32 tensors are Float32Array views into one shared
 * WebAssembly.Memory that the kernel module (GEMM + SIMD elementwise) works on in place, so a matmul copies nothing
 * and an elementwise pass runs as wasm SIMD on the tensors themselves (about 10x a JS loop over a Float32Array).
 *
 * - Shared memory, because growing a non-shared memory detaches its buffer and with it every live view; a shared
 *   buffer only gets longer. (The 2-thread GEMM needs shared memory anyway.)
 * - Blocks are 64-byte aligned and keep at least 4 floats of padding past the tensor's end, so kernels may run a
 *   whole 4-lane vector past it (row kernels do, at the end of the last row).
 * - Freed blocks go to a free list per padded size and are reused as they are (the caller zeroes when it must);
 *   new blocks come from the top. Memory is never returned to the system; above `limitBytes` alloc() returns null
 *   and the backend falls back to ordinary Float32Arrays (with the TS kernels), so nothing fails.
 */
export class WasmArena {
  /** the kernel module's exports (GEMM, SIMD elementwise, softmax, norm, AdamW, RoPE and head kernels) */
  readonly wasm: KernelExports;
  /** the GEMM on arena addresses */
  readonly gemm: GemmCore;
  /** the GEMM micro-kernel's arithmetic: relaxed SIMD (fused multiply-add) or plain */
  readonly simd: GemmSimd;
  /** the GemmProvider face: works on arena views in place and copies other Float32Arrays in */
  readonly gemmProvider: ArenaGemmProvider;
  /** alloc() returns null past this many bytes */
  readonly limitBytes: number;
  private readonly memory: WasmMemory;
  private buf: ArrayBufferLike;
  private readonly buffers = new WeakSet<object>();
  private readonly free = new Map<number, number[]>();
  private top: number;
  private freeBytes = 0;

  /**
   * @param opts - GEMM threads (2 starts a worker; default 1), the byte limit (default 2 GiB), the GEMM's arithmetic
   * (default: relaxed where the engine has it).
   * @throws Error when WebAssembly SIMD or shared memory is unavailable.
   */
  constructor(opts: { threads?: 1 | 2; limitBytes?: number; simd?: GemmSimd } = {}) {
    const api = wasmApi;
    if (!api || !wasmSimdSupported()) throw new Error('the wasm tensor arena needs WebAssembly SIMD');
    // Shared wasm memory can be created even where the SharedArrayBuffer constructor is hidden (a browser page
    // without cross-origin isolation): only handing it to a Worker needs isolation, so try it rather than test for
    // the constructor.
    try {
      this.memory = new api.Memory({ initial: 256, maximum: 65536, shared: true });
    } catch (e) {
      throw new Error(`the wasm tensor arena needs shared WebAssembly memory: ${(e as Error).message}`);
    }
    const kernels = instantiateKernels(api, true, this.memory, opts.simd ?? defaultGemmSimd());
    this.wasm = kernels.exports;
    this.simd = kernels.simd;
    this.buf = this.memory.buffer;
    this.buffers.add(this.buf);
    const wsBytes = align64(this.wasm.workspaceBytes());
    const ws = align64(this.wasm.heapBase());
    this.gemm = createGemmCore(kernels, this.wasm, this.memory, ws, opts.threads === 2 ? ws + wsBytes : null);
    this.top = align64(ws + wsBytes * this.gemm.threads);
    this.limitBytes = Math.min(opts.limitBytes ?? 2 ** 31, 2 ** 32 - PAGE);
    this.gemmProvider = arenaGemmProvider(this);
  }

  /**
   * Runs an elementwise or row kernel of the module (one of PARALLEL_KERNELS) on arena addresses: on both GEMM
   * threads in chunks when it is large and the worker is up (docs/cpu-simd.md §3), else on this thread. Same bits
   * either way.
   *
   * @param name - The kernel: unary, unaryMul, swiglu, swigluBackward, adamw, softmax or softmaxBackward.
   * @param args - Its arguments, as for `wasm[name]`.
   */
  parallel(name: ParallelKernel, ...args: number[]): void {
    this.gemm.call(name, ...args);
  }

  /** bytes of wasm memory committed (the arena never shrinks) */
  get memoryBytes(): number {
    return this.buf.byteLength;
  }

  /** bytes held by the free lists */
  get freeListBytes(): number {
    return this.freeBytes;
  }

  /**
   * A block for n floats: a view of exactly n floats, its byte address and its padded size in floats; `fresh` blocks
   * come from never-used memory (zeros). Null when the arena would pass its limit.
   *
   * @param n - Number of floats.
   * @returns The block, or null.
   */
  alloc(n: number): { data: Float32Array; ptr: number; cap: number; fresh: boolean } | null {
    const cap = blockFloats(n);
    const list = this.free.get(cap);
    let ptr = list?.pop();
    let fresh = false;
    if (ptr !== undefined) {
      this.freeBytes -= cap * 4;
    } else {
      const end = this.top + cap * 4;
      if (end > this.limitBytes || !this.ensure(end)) return null;
      ptr = this.top;
      this.top = end;
      fresh = true;
    }
    return { data: new Float32Array(this.buf, ptr, n), ptr, cap, fresh };
  }

  /**
   * returns a block (its address and padded size from alloc) to the free list
   *
   * @param ptr - The block's byte address.
   * @param cap - Its padded size in floats.
   */
  release(ptr: number, cap: number): void {
    let list = this.free.get(cap);
    if (!list) {
      list = [];
      this.free.set(cap, list);
    }
    list.push(ptr);
    this.freeBytes += cap * 4;
  }

  /**
   * the byte address of a view into this arena, or -1 for any other array
   *
   * @param a - An array.
   * @returns The byte address, or -1.
   */
  ptrOf(a: Float32Array): number {
    return this.buffers.has(a.buffer) ? a.byteOffset : -1;
  }

  /**
   * a view of n floats at a byte address (for scratch)
   *
   * @param ptr - A byte address in the arena.
   * @param n - Number of floats.
   * @returns The view.
   */
  view(ptr: number, n: number): Float32Array {
    return new Float32Array(this.buf, ptr, n);
  }

  private ensure(end: number): boolean {
    const have = this.buf.byteLength;
    if (end <= have) return true;
    // grow by at least a quarter, so a run of small allocations does not grow page by page
    const want = Math.min(Math.max(end, have + have / 4), this.limitBytes);
    try {
      this.memory.grow(Math.ceil((want - have) / PAGE));
    } catch {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        return false;
      }
    }
    this.buf = this.memory.buffer;
    this.buffers.add(this.buf);
    return true;
  }
}

export interface ArenaGemmProvider extends GemmProvider {
  readonly threads: 1 | 2;
  /** the micro-kernel's arithmetic */
  readonly simd: GemmSimd;
  batched(A: Float32Array, B: Float32Array, C: Float32Array, p: MatmulParams): void;
  threadStats(): WasmThreadStats;
  dispose(): void;
}

/** GEMM on arena views in place; any other operand is copied into a temporary arena block first. */
function arenaGemmProvider(arena: WasmArena): ArenaGemmProvider {
  // the byte address of `n` floats of `a` from `off`, copying them into a temporary block when `a` is not in the
  // arena; temporaries are pushed on `temps` (null if the arena is full)
  const place = (a: Float32Array, off: number, n: number, temps: { ptr: number; cap: number }[], copy: boolean) => {
    const p = arena.ptrOf(a);
    if (p >= 0) return p + 4 * off;
    const b = arena.alloc(n);
    if (!b) return -1;
    temps.push(b);
    if (copy) b.data.set(a.subarray(off, off + n));
    return b.ptr;
  };
  const finish = (temps: { ptr: number; cap: number }[]) => {
    for (const t of temps) arena.release(t.ptr, t.cap);
  };

  const gemm: GemmFn = (A, aOff, B, bOff, C, cOff, M, K, N, transA, transB) => {
    if (gemmEdgeCase(A, aOff, B, bOff, C, cOff, M, K, N)) return;
    const temps: { ptr: number; cap: number }[] = [];
    const pa = place(A, aOff, M * K, temps, true);
    const pb = place(B, bOff, K * N, temps, true);
    const pc = place(C, cOff, M * N, temps, false);
    if (pa < 0 || pb < 0 || pc < 0) {
      finish(temps);
      referenceGemm.gemm(A, aOff, B, bOff, C, cOff, M, K, N, transA, transB);
      return;
    }
    arena.gemm.product(pa, pb, pc, M, K, N, transA, transB);
    if (arena.ptrOf(C) < 0) C.set(arena.view(pc, M * N), cOff);
    finish(temps);
  };

  const batched = (A: Float32Array, B: Float32Array, C: Float32Array, p: MatmulParams): void => {
    const { batch, M, K, N, aBatchStride, bBatchStride } = p;
    if (batch <= 0 || M <= 0 || N <= 0) return;
    if (K <= 0) {
      C.fill(0, 0, batch * M * N);
      return;
    }
    const spanA = (batch - 1) * aBatchStride + M * K;
    const spanB = (batch - 1) * bBatchStride + K * N;
    if (spanA > A.length || spanB > B.length || batch * M * N > C.length) {
      throw new RangeError(`batched matmul operands too short for ${batch} x [${M}, ${K}] x [${K}, ${N}]`);
    }
    const temps: { ptr: number; cap: number }[] = [];
    const pa = place(A, 0, spanA, temps, true);
    const pb = place(B, 0, spanB, temps, true);
    const pc = place(C, 0, batch * M * N, temps, false);
    if (pa < 0 || pb < 0 || pc < 0) {
      finish(temps);
      for (let i = 0; i < batch; i++) {
        referenceGemm.gemm(A, i * aBatchStride, B, i * bBatchStride, C, i * M * N, M, K, N, p.transA, p.transB);
      }
      return;
    }
    arena.gemm.productBatched(pa, pb, pc, p);
    if (arena.ptrOf(C) < 0) C.set(arena.view(pc, batch * M * N));
    finish(temps);
  };

  return {
    name: gemmName(arena.simd, arena.gemm.threads),
    simd: arena.simd,
    threads: arena.gemm.threads,
    gemm,
    batched,
    threadStats: arena.gemm.stats,
    dispose: arena.gemm.dispose,
  };
}

const arenas = new Map<string, WasmArena | null>();

/**
 * The process's arena for 1 or 2 GEMM threads and a GEMM arithmetic (created on first use; CPU backends with the
 * same settings share it, as they share the JS heap), or null where WASM SIMD or shared memory is missing.
 */
export function sharedArena(threads: 1 | 2 = 1, simd: GemmSimd = defaultGemmSimd()): WasmArena | null {
  const key = `${threads} ${simd}`;
  if (!arenas.has(key)) {
    let arena: WasmArena | null = null;
    try {
      arena = new WasmArena({ threads, simd });
    } catch {}
    arenas.set(key, arena);
  }
  return arenas.get(key) ?? null;
}
