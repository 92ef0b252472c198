import type { MatmulParams } from '../../backend.js';
import { type GemmFn, type GemmProvider, referenceGemm } from '../gemm.js';
import { GEMM_TILE } from './kernels.gen.js';
import {
  align64,
  defaultGemmSimd,
  type GemmSimd,
  instantiateKernels,
  type KernelExports,
  PAGE,
  WASM32_BYTES,
  type WasmMemory,
  wasmApi,
  wasmSimdSupported,
} from './wasm-module.js';
import {
  type ChunkPlan,
  callChunkArgs,
  chunkArgs,
  type GemmThreadInfo,
  OP_BATCHED,
  OP_CALL,
  OP_GEMM,
  PARALLEL_KERNELS,
  PARALLEL_NAMES,
  type ParallelKernel,
  startGemmWorker,
} from './wasm-threads.js';

/**
 * A wasm GEMM provider's name: 'wasm-simd 2x16', with ' relaxed' for the fused multiply-add micro-kernel and ' x2'
 * for two threads.
 */
export function gemmName(simd: GemmSimd, threads: 1 | 2): string {
  return `wasm-simd ${GEMM_TILE}${simd === 'relaxed' ? ' relaxed' : ''}${threads === 2 ? ' x2' : ''}`;
}

/** The WASM SIMD GEMM with its own linear memory (createWasmGemm). */
export interface WasmGemmProvider extends GemmProvider {
  /** the micro-kernel's arithmetic: relaxed SIMD (fused multiply-add) or plain */
  readonly simd: GemmSimd;
  /** 1, or 2 when the worker thread was started */
  readonly threads: 1 | 2;
  /**
   * The whole batched matmul, operands copied in and out once.
   *
   * @param A - Every A operand.
   * @param B - Every B operand.
   * @param C - The output, batch x [M, N].
   * @param p - Sizes, transposes and batch strides.
   */
  batched(A: Float32Array, B: Float32Array, C: Float32Array, p: MatmulParams): void;
  /**
   * bytes of wasm linear memory held (grows to the largest operands seen, never shrinks)
   *
   * @returns The bytes.
   */
  memoryBytes(): number;
  /**
   * How the products were split between the threads.
   *
   * @returns The counters.
   */
  threadStats(): WasmThreadStats;
  /** stops the worker thread (it is unref'd, so this is only needed to free it early); later calls use 1 thread */
  dispose(): void;
}

/** Options of createWasmGemm. */
export interface WasmGemmOptions {
  /**
   * 1 (default) or 2: the main thread plus one persistent worker_thread over shared wasm memory, for products of at
   * least 2 MFLOP. Falls back to 1 where workers or shared memory are unavailable.
   */
  threads?: 1 | 2;
  /**
   * With 2 threads, keep a per-shape running average of 1- and 2-thread times and use the faster (default true);
   * another process holding a core makes 2 threads slower than 1. false always splits (for tests).
   */
  adaptive?: boolean;
  /**
   * The micro-kernel's arithmetic: 'relaxed' (one fused multiply-add, where the engine has relaxed SIMD; the
   * default there) or 'plain' (a multiply and an add). TINYFORMER_WASM_SIMD=plain changes the default.
   */
  simd?: GemmSimd;
}

/** How a two-thread GEMM split its products. */
export interface WasmThreadStats {
  /** the worker has started and takes jobs */
  workerReady: boolean;
  /** products cut into chunks for both threads */
  split: number;
  /** products of those in which the worker ran at least one chunk (else the main thread ran them all) */
  workerRan: number;
  /** products of at least 2 MFLOP run on one thread by the adaptive choice */
  single: number;
  /** every product this GEMM ran (any size, any thread count) */
  calls: number;
  /** wall time of those products in milliseconds (to see the GEMM's share of a training step) */
  ms: number;
  /** elementwise and row kernels (PARALLEL_KERNELS) run in chunks on both threads */
  parallelCalls: number;
  /** of those, the calls in which the worker ran at least one chunk */
  workerRanCalls: number;
}

/** products below this many flops are not worth a cross-thread round trip (15-180 us when the worker sleeps) */
const SPLIT_MIN_FLOP = 2e6;
/**
 * A 2-thread product is cut into chunks of about this many flops (at most MAX_CHUNKS), which the threads take in
 * turn: on the dev VM one of two concurrent GEMMs often ran 15-25% slower than the other, and with halves the
 * product waited for the slow one. Each row chunk packs its own copy of B, so chunks stay large.
 */
const CHUNK_FLOP = 8e6;
/**
 * A row chunk packs its own copy of B (a column chunk of A), so chunks keep at least this many rows (columns):
 * measured in alternating runs against no minimum, small 1.06x and baby 0.97-1.27x; 256 lost on baby.
 */
const MIN_CHUNK_LEN = 128;
const MAX_CHUNKS = 16;
/**
 * An elementwise or row kernel goes to both threads from this many floats (256 KB: 50-250 us of work, several times
 * the cost of posting a job to a spinning worker), in chunks of about CALL_CHUNK_FLOATS.
 */
const CALL_MIN_FLOATS = 65536;
const CALL_CHUNK_FLOATS = 32768;

/** `len` items cut into about `want` (2 to MAX_CHUNKS) chunks of a multiple of `align`, or null if not in two */
function cut(axis: 0 | 1 | 2, len: number, align: number, want: number): ChunkPlan | null {
  const size = Math.ceil(len / Math.max(2, Math.min(MAX_CHUNKS, want)) / align) * align;
  const chunks = Math.ceil(len / size);
  return chunks >= 2 ? { axis, size, chunks } : null;
}

/** A product's `len` rows, columns or batch items cut into tile-aligned chunks of about CHUNK_FLOP each */
function chunkPlan(axis: 0 | 1 | 2, len: number, align: number, flop: number): ChunkPlan | null {
  const byLen = axis === 2 ? MAX_CHUNKS : Math.floor(len / MIN_CHUNK_LEN);
  return cut(axis, len, align, Math.min(byLen, Math.floor(flop / CHUNK_FLOP)));
}
/** the adaptive choice re-measures the slower mode every this many calls of a shape */
const PROBE_EVERY = 16;
const EWMA = 0.25;

/**
 * The GEMM on operands already in the module instance's memory (byte addresses), on the main thread or split with
 * one worker that shares the memory.
 */
export interface GemmCore {
  readonly threads: 1 | 2;
  /** C[M, N] (row stride N) = op(A) op(B), dense operands */
  product(pa: number, pb: number, pc: number, M: number, K: number, N: number, ta: boolean, tb: boolean): void;
  /** batch products; operand strides in floats (0 = shared), C dense batch x [M, N] */
  productBatched(pa: number, pb: number, pc: number, p: MatmulParams): void;
  stats(): WasmThreadStats;
  /**
   * Runs one of PARALLEL_KERNELS: on both threads in chunks when it touches at least CALL_MIN_FLOATS floats and the
   * worker is up, else on this thread. The results are the same bits either way.
   */
  call(name: ParallelKernel, ...args: number[]): void;
  /** how many threads run products now, and why not more */
  threadInfo(): GemmThreadInfo;
  dispose(): void;
}

/**
 * Binds the GEMM of an instantiated kernel module: `ws` is the main thread's packing workspace; with threads = 2
 * (and a shared memory) a worker instantiates the same module over the same memory with its workspace at
 * `workerWs`. Both workspaces are exp.workspaceBytes() long.
 */
export function createGemmCore(
  modules: { gemmModule: object; kernelModule: object },
  exp: KernelExports,
  memory: WasmMemory,
  ws: number,
  workerWs: number | null,
  adaptive = true,
): GemmCore {
  const tile = exp.tileShape();
  const MR = tile >> 8;
  const NR = tile & 0xff;
  const started = workerWs !== null ? startGemmWorker(modules, memory, workerWs) : null;
  const worker = typeof started === 'string' ? null : started;
  const threadInfo = (): GemmThreadInfo => {
    if (workerWs === null) return { requested: 1, running: 1, state: 'single', why: '' };
    if (typeof started === 'string' || started === null) {
      return { requested: 2, running: 1, state: 'unavailable', why: started ?? 'no worker' };
    }
    const failure = started.failure;
    if (failure !== null) return { requested: 2, running: 1, state: 'failed', why: failure };
    if (!started.ready) return { requested: 2, running: 1, state: 'starting', why: 'the worker is starting' };
    return { requested: 2, running: 2, state: 'running', why: '' };
  };
  const stats: WasmThreadStats = {
    workerReady: false,
    split: 0,
    workerRan: 0,
    single: 0,
    calls: 0,
    ms: 0,
    parallelCalls: 0,
    workerRanCalls: 0,
  };
  const timing = new Map<string, { calls: number; t1: number; t2: number }>();

  // runs one product of `flop` flops on 1 thread, or in chunks (`plan`) on 2
  const run = (key: string, flop: number, op: number, whole: number[], plan: ChunkPlan | null) => {
    const call = op === OP_GEMM ? exp.gemm : exp.gemmBatched;
    const one = (args: number[]) => call(ws, ...(args as Args11));
    if (!worker || flop < SPLIT_MIN_FLOP || !worker.ready || !plan) {
      one(whole);
      return;
    }
    let t = timing.get(key);
    if (!t) {
      if (timing.size > 512) timing.clear();
      t = { calls: 0, t1: 0, t2: 0 };
      timing.set(key, t);
    }
    t.calls++;
    let two = true;
    if (adaptive && t.t2 > 0) {
      // measure 1 thread once 2 threads has a time, then keep the faster and re-probe the other now and then
      two = t.t1 === 0 ? false : t.t2 <= t.t1 !== (t.calls % PROBE_EVERY === 0);
    }
    const t0 = performance.now();
    if (two) {
      stats.split++;
      const ran = worker.split(op, whole, plan, (i) => one(chunkArgs(whole, plan.axis, plan.size, i)));
      if (ran > 0) stats.workerRan++;
    } else {
      stats.single++;
      one(whole);
    }
    const dt = performance.now() - t0;
    if (two) t.t2 = t.t2 === 0 ? dt : t.t2 + EWMA * (dt - t.t2);
    else t.t1 = t.t1 === 0 ? dt : t.t1 + EWMA * (dt - t.t1);
  };

  // cuts on the larger of M and N (tile-aligned), one chunk per CHUNK_FLOP and MIN_CHUNK_LEN, 2 to MAX_CHUNKS
  const product = (pa: number, pb: number, pc: number, M: number, K: number, N: number, ta: boolean, tb: boolean) => {
    const lda = ta ? M : K;
    const ldb = tb ? K : N;
    const whole = [pa, lda, pb, ldb, pc, N, M, K, N, +ta, +tb];
    const flop = 2 * M * K * N;
    const plan = (M >= N ? chunkPlan(0, M, MR, flop) : null) ?? chunkPlan(1, N, NR, flop);
    run(`g${M},${K},${N},${+ta}${+tb}`, flop, OP_GEMM, whole, plan);
  };

  const productBatched = (pa: number, pb: number, pc: number, p: MatmulParams) => {
    const { batch, M, K, N, transA, transB, aBatchStride, bBatchStride } = p;
    // a shared B under an untransposed, densely batched A is one tall product
    if (batch === 1 || (bBatchStride === 0 && !transA && aBatchStride === M * K)) {
      product(pa, pb, pc, batch * M, K, N, transA, transB);
      return;
    }
    const whole = [pa, aBatchStride, pb, bBatchStride, pc, batch, M, K, N, +transA, +transB];
    const flop = 2 * batch * M * K * N;
    run(`b${batch},${M},${K},${N},${+transA}${+transB}`, flop, OP_BATCHED, whole, chunkPlan(2, batch, 1, flop));
  };

  // elementwise and row kernels: cut along their count, 16 floats (a cache line) or the causal period at a time
  const call = (name: ParallelKernel, ...args: number[]): void => {
    const f = exp[name] as (...a: number[]) => void;
    const k = PARALLEL_KERNELS[name];
    const count = args[k.count]!;
    // the floats of the first pointer argument: what the call streams through, per counted item times the count
    const [, ...factors] = k.ptrs[0]!;
    const perItem = factors.reduce((a, f) => a * args[f]!, 1);
    const floats = count * perItem;
    if (!worker || floats < CALL_MIN_FLOATS || !worker.ready) {
      f(...args);
      return;
    }
    // elementwise chunks start on a 64-byte line; row chunks on a row (or on the causal period)
    const align = k.align >= 0 && args[k.align]! > 0 ? args[k.align]! : perItem === 1 ? 16 : 1;
    const plan = cut(0, count, align, Math.floor(floats / CALL_CHUNK_FLOATS));
    if (!plan) {
      f(...args);
      return;
    }
    stats.parallelCalls++;
    const ran = worker.split(
      OP_CALL,
      args,
      plan,
      (i) => f(...callChunkArgs(args, k, plan.size, i)),
      PARALLEL_NAMES.indexOf(name),
    );
    if (ran > 0) stats.workerRanCalls++;
  };

  // counts every product and its wall time (two clock reads: well under 1% of the smallest product in a step)
  const timed =
    <F extends (...args: never[]) => void>(f: F) =>
    (...args: Parameters<F>): void => {
      const t0 = performance.now();
      f(...args);
      stats.ms += performance.now() - t0;
      stats.calls++;
    };

  return {
    threads: worker ? 2 : 1,
    product: timed(product),
    productBatched: timed(productBatched),
    call,
    stats: () => ({ ...stats, workerReady: worker?.ready ?? false }),
    threadInfo,
    dispose: () => worker?.close(),
  };
}

/**
 * The argument checks every GEMM entry point shares: throws on operands too short for the product; handles an empty
 * product (nothing to write) and K = 0 (C is zeros). Returns true when nothing is left to compute.
 */
export function gemmEdgeCase(
  A: Float32Array,
  aOff: number,
  B: Float32Array,
  bOff: number,
  C: Float32Array,
  cOff: number,
  M: number,
  K: number,
  N: number,
): boolean {
  if (M <= 0 || N <= 0) return true;
  if (aOff + M * K > A.length || bOff + K * N > B.length || cOff + M * N > C.length) {
    throw new RangeError(`matmul operands too short for [${M}, ${K}] x [${K}, ${N}] at the given offsets`);
  }
  if (K <= 0) {
    C.fill(0, cOff, cOff + M * N);
    return true;
  }
  return false;
}

/**
 * WASM SIMD GEMM (AssemblyScript, 2x16 register tile, packed MC/KC/NC blocking) with its own linear memory:
 * operands are copied in per call (a few % of kernel time), which keeps tensors plain Float32Arrays. (The CPU
 * backend's default provider works on tensors that already live in wasm memory: see wasm-arena.ts.)
 * Returns null where WASM SIMD is unavailable, so callers fall back to the TS kernel.
 *
 * @param opts - Threads (2 starts a worker; default 1) and the adaptive thread choice.
 * @returns The provider, or null.
 */
export function createWasmGemm(opts: WasmGemmOptions = {}): WasmGemmProvider | null {
  if (!wasmApi || !wasmSimdSupported()) return null;
  const api = wasmApi;
  const wantThreads = opts.threads === 2 && typeof SharedArrayBuffer === 'function';
  let exp: KernelExports;
  let memory: WasmMemory;
  let modules: { gemmModule: object; kernelModule: object };
  let simd: GemmSimd;
  try {
    // the shared build declares a 4 GiB maximum, which a shared import must state too
    memory = new api.Memory(wantThreads ? { initial: 64, maximum: 65536, shared: true } : { initial: 32 });
    const kernels = instantiateKernels(api, wantThreads, memory, opts.simd ?? defaultGemmSimd());
    exp = kernels.exports;
    modules = kernels;
    simd = kernels.simd;
  } catch {
    return wantThreads ? createWasmGemm({ ...opts, threads: 1 }) : null;
  }
  const wsBytes = align64(exp.workspaceBytes());
  const ws = align64(exp.heapBase());
  // the worker packs into its own workspace, right after the main thread's
  const core = createGemmCore(modules, exp, memory, ws, wantThreads ? ws + wsBytes : null, opts.adaptive !== false);
  const dataBase = ws + wsBytes * core.threads;
  let f32 = new Float32Array(memory.buffer);

  // grows memory to hold `end` bytes and returns a live view (growing detaches a non-shared buffer and
  // lengthens a shared one; either way the old view is too short); null when memory cannot grow that far
  const view = (end: number): Float32Array | null => {
    const have = memory.buffer.byteLength;
    if (end > WASM32_BYTES) return null;
    if (end > have) {
      try {
        memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        return null;
      }
    }
    if (f32.byteLength !== memory.buffer.byteLength) f32 = new Float32Array(memory.buffer);
    return f32;
  };

  const gemm: GemmFn = (A, aOff, B, bOff, C, cOff, M, K, N, transA, transB) => {
    if (gemmEdgeCase(A, aOff, B, bOff, C, cOff, M, K, N)) return;
    const pa = dataBase;
    const pb = align64(pa + 4 * M * K);
    const pc = align64(pb + 4 * K * N);
    const mem = view(pc + 4 * M * N);
    if (!mem) {
      referenceGemm.gemm(A, aOff, B, bOff, C, cOff, M, K, N, transA, transB);
      return;
    }
    mem.set(A.subarray(aOff, aOff + M * K), pa / 4);
    mem.set(B.subarray(bOff, bOff + K * N), pb / 4);
    core.product(pa, pb, pc, M, K, N, transA, transB);
    C.set(mem.subarray(pc / 4, pc / 4 + M * N), cOff);
  };

  const batched = (A: Float32Array, B: Float32Array, C: Float32Array, p: MatmulParams): void => {
    const { batch, M, K, N, transA, transB, aBatchStride, bBatchStride } = p;
    if (batch <= 0 || M <= 0 || N <= 0) return;
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
    if (!mem) {
      for (let i = 0; i < batch; i++)
        gemm(A, i * aBatchStride, B, i * bBatchStride, C, i * M * N, M, K, N, transA, transB);
      return;
    }
    mem.set(A.subarray(0, spanA), pa / 4);
    mem.set(B.subarray(0, spanB), pb / 4);
    core.productBatched(pa, pb, pc, p);
    C.set(mem.subarray(pc / 4, pc / 4 + batch * M * N));
  };

  return {
    name: gemmName(simd, core.threads),
    simd,
    threads: core.threads,
    gemm,
    batched,
    memoryBytes: () => memory.buffer.byteLength,
    threadStats: core.stats,
    dispose: core.dispose,
  };
}

type Args11 = [number, number, number, number, number, number, number, number, number, number, number];

const cachedDefault = new Map<GemmSimd, GemmProvider>();

/**
 * One shared copy-in wasm provider per process and arithmetic (calls are synchronous), else the TS kernel.
 *
 * @param simd - The micro-kernel's arithmetic (default: relaxed where the engine has it).
 * @returns The provider.
 */
export function defaultGemmProvider(simd: GemmSimd = defaultGemmSimd()): GemmProvider {
  let g = cachedDefault.get(simd);
  if (!g) {
    g = createWasmGemm({ simd }) ?? referenceGemm;
    cachedDefault.set(simd, g);
  }
  return g;
}
