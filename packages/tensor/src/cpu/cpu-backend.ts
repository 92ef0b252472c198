export { CpuStorage } from './cpu-storage.js';
export { defaultThreads } from './default-threads.js';

import type { AdamWParams, Backend, BackendMemory, BinaryOp, MatmulParams, ReduceOp, UnaryOp } from '../backend.js';
import { TensorError } from '../errors.js';
import { sizeOf } from '../shape.js';
import { CpuStorage, reclaim } from './cpu-storage.js';
import { defaultThreads } from './default-threads.js';
import type { GemmProvider } from './gemm.js';
import { adamwKernel } from './kernels/adamw.js';
import { binaryKernel, isTrailing, unaryKernel } from './kernels/elementwise.js';
import type { FloatArray } from './kernels/float-array.js';
import { gatherKernel, scatterAddKernel } from './kernels/gather.js';
import { gemmReference } from './kernels/gemm-reference.js';
import { boxCopy, concatKernel, permuteKernel } from './kernels/movement.js';
import { reduceKernel } from './kernels/reduce.js';
import { BINARY_CODES, BINARY_MODES } from './wasm/kernels.gen.js';
import { sharedArena, type WasmArena } from './wasm/wasm-arena.js';
import { createWasmElementwise, type WasmElementwiseProvider } from './wasm/wasm-elementwise.js';
import { defaultGemmProvider } from './wasm/wasm-gemm.js';
import { defaultGemmSimd, type GemmSimd } from './wasm/wasm-module.js';
import type { GemmThreadInfo } from './wasm/wasm-threads.js';
import { keepsExact, wasmUnaryCode } from './wasm-unary-code.js';

/** below this many elements the TS loop beats the call into wasm */
const SIMD_MIN = 64;

let sharedElementwise: WasmElementwiseProvider | null | undefined;

/** one elementwise provider per process (its calls are synchronous and it keeps no state between them) */
function defaultElementwise(): WasmElementwiseProvider | null {
  if (sharedElementwise === undefined) sharedElementwise = createWasmElementwise();
  return sharedElementwise;
}

const BINARY_CODE = new Map<string, number>(BINARY_CODES.map((op, i) => [op, i]));
const MODE = Object.fromEntries(BINARY_MODES.map((m, i) => [m, i])) as Record<(typeof BINARY_MODES)[number], number>;

/** Options of CpuBackend. */
export interface CpuBackendOptions {
  /**
   * run the registered op kernels (default true); false gives the composite-only backend that tests compare against
   * (every op then runs as its composite of primitives)
   */
  kernels?: boolean;
  /** op names whose kernels to leave out (those ops take their composite path), e.g. to measure what one buys */
  disableKernels?: readonly string[];
  /** matmul implementation (default: WASM SIMD where available, else the plain-TS reference kernel) */
  gemm?: GemmProvider;
  /**
   * WASM SIMD kernels for exp, sigmoid, SiLU, GELU and their derivatives (default true where WASM SIMD exists);
   * false keeps every elementwise op on the plain-TS kernels (Math.exp per element).
   */
  simdElementwise?: boolean;
  /**
   * Keep float32 tensors in the process's wasm arena (default true where WebAssembly SIMD and shared memory exist):
   * matmul then copies nothing and the elementwise, softmax, norm, AdamW, RoPE and head kernels run as wasm SIMD in
   * place. false keeps ordinary Float32Arrays and the TS kernels (plus the copy-in SIMD activations). Needs pooling.
   */
  arena?: boolean;
  /**
   * Threads of the arena's GEMM: 2 (the main thread and one persistent worker over the shared memory) where the
   * host has 2+ cores, else 1. The worker is a Node worker_thread, or in a browser a dedicated Worker (the page must
   * be cross-origin isolated to share memory with it); it starts asynchronously, and `threadInfo()` says how many
   * threads run and why not more. The split is per-shape adaptive: it keeps a running time of 1 and
   * 2 threads for each product shape and uses the faster, so when another process holds the second core it falls
   * back to 1 (measured on the 2-core dev VM: baby-GPT training 1.34-1.37x faster with a free core, 0.98x with a
   * busy one). Results are bit-identical either way (each output element is one thread's sum). The environment
   * variable TINYFORMER_CPU_THREADS=1 or 2 overrides the default. Ignored with `gemm` or without the arena.
   */
  threads?: 1 | 2;
  /**
   * The wasm GEMM micro-kernel's arithmetic: 'relaxed' uses WebAssembly relaxed SIMD's fused multiply-add
   * (`f32x4.relaxed_madd`), 'plain' a multiply then an add. Default 'relaxed' where the engine has relaxed SIMD
   * (Node 22+, current browsers; on Node 20 the backend turns on the V8 flag for it), else 'plain'; the environment
   * variable TINYFORMER_WASM_SIMD=plain changes the default. Measured on the 2-core AMD EPYC dev VM: the GEMM
   * 1.35-1.45x faster (docs/cpu-simd.md §1). A fused multiply-add rounds once, so products differ from plain SIMD in
   * the last bits; runs on one machine and engine stay bit-reproducible. Ignored with `gemm`.
   */
  gemmSimd?: GemmSimd;
  /** reuse freed buffers of the same size (default true) */
  pool?: boolean;
  /**
   * Most bytes the free lists hold (default 512 MiB). A training step frees the same sizes it allocates, so the
   * lists stay at the step's peak; the cap only bounds workloads whose sizes keep changing.
   */
  poolBytes?: number;
  /**
   * 'float64' stores and computes everything in double precision: slow, for gradcheck's finite differences.
   * Default 'float32'.
   */
  precision?: 'float32' | 'float64';
}

/**
 * The CPU backend: the numerical reference and a fast engine. Freed buffers go back to a per-size free list,
 * so a training loop that disposes its intermediates (tidy) allocates nothing after its first step.
 */
export class CpuBackend implements Backend<CpuStorage> {
  /** the Backend spec version this backend implements */
  readonly specificationVersion = 'v1' as const;
  /** 'cpu', with '(composite)' when kernels are off and '(float64)' in float64 mode */
  readonly name: string;
  /** true: `t.dataSync()` works */
  readonly synchronous = true;
  private readonly kernelsOn: boolean;
  private readonly kernelsOff: ReadonlySet<string>;
  /** the matmul implementation in use */
  gemmProvider: GemmProvider;
  /** the SIMD elementwise kernels in use, or null (plain TS) */
  readonly elementwise: WasmElementwiseProvider | null;
  /** the wasm arena float32 tensors live in, or null (ordinary Float32Arrays) */
  readonly arena: WasmArena | null;
  /** float32, or float64 (gradcheck's reference precision) */
  readonly precision: 'float32' | 'float64';
  private free = new Map<number, FloatArray[]>();
  private freeBytes = 0;
  private live = 0;
  private liveBytes = 0;
  private readonly pooling: boolean;
  private readonly poolBytes: number;
  private readonly threadsWanted: 1 | 2;
  private readonly noArenaWhy: string;

  /**
   * @param opts - Kernels, matmul, SIMD, arena, threads, pooling, precision; the defaults are the fast engine.
   *
   * @example
   * ```ts
   * setBackend(new CpuBackend()); // WASM SIMD kernels where available, 2 matmul threads where there are 2 cores
   * const reference = new CpuBackend({ kernels: false, precision: 'float64' }); // composites only, in float64
   * ```
   */
  constructor(opts: CpuBackendOptions = {}) {
    this.pooling = opts.pool ?? true;
    this.poolBytes = opts.poolBytes ?? 512 * 2 ** 20;
    this.precision = opts.precision ?? 'float32';
    const simd = opts.simdElementwise !== false;
    this.elementwise = simd ? defaultElementwise() : null;
    this.threadsWanted = opts.threads ?? defaultThreads();
    const arenaWanted = simd && opts.arena !== false && this.pooling && this.precision === 'float32';
    const gemmSimd = opts.gemmSimd ?? defaultGemmSimd();
    this.arena = arenaWanted ? sharedArena(this.threadsWanted, gemmSimd) : null;
    this.noArenaWhy = arenaWanted
      ? 'no wasm arena here (WebAssembly SIMD or shared wasm memory is missing)'
      : 'the wasm arena is off (arena, pool, simdElementwise or precision options)';
    this.gemmProvider = opts.gemm ?? this.arena?.gemmProvider ?? defaultGemmProvider(gemmSimd);
    this.kernelsOn = opts.kernels !== false;
    this.kernelsOff = new Set(opts.disableKernels ?? []);
    this.name = `cpu${opts.kernels === false ? '(composite)' : ''}${this.precision === 'float64' ? '(float64)' : ''}`;
  }

  /**
   * How many GEMM threads run products now, and why not more: the worker of a 2-thread arena starts asynchronously
   * (state 'starting'), and where it cannot run (no workers, a browser page without cross-origin isolation) the
   * reason is in `why`. Await `whenThreadsReady()` to read the settled state.
   *
   * @returns Threads requested and running, the state, and why fewer run.
   */
  threadInfo(): GemmThreadInfo {
    if (this.arena) return this.arena.gemm.threadInfo();
    const requested = this.threadsWanted;
    if (requested === 1) return { requested, running: 1, state: 'single', why: '' };
    return { requested, running: 1, state: 'unavailable', why: this.noArenaWhy };
  }

  /**
   * Waits until the GEMM worker has started or failed (at most `timeoutMs`), then returns `threadInfo()`.
   *
   * @param timeoutMs - Longest wait in milliseconds (default 10,000); 'starting' is returned after it.
   * @returns The thread state once settled.
   *
   * @example
   * ```ts
   * const cpu = new CpuBackend();
   * const t = await cpu.whenThreadsReady();
   * console.log(cpu.describeThreads()); // '2 GEMM threads' or '1 GEMM thread (<why>)'
   * ```
   */
  async whenThreadsReady(timeoutMs = 10_000): Promise<GemmThreadInfo> {
    const until = Date.now() + timeoutMs;
    let info = this.threadInfo();
    while (info.state === 'starting' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 5));
      info = this.threadInfo();
    }
    return info;
  }

  /**
   * The wasm GEMM's arithmetic: 'relaxed' (fused multiply-add), 'plain', or null when matmul does not run the wasm
   * GEMM (no WebAssembly SIMD, float64, or a `gemm` option of another kind).
   *
   * @returns The mode, or null.
   */
  get gemmSimd(): GemmSimd | null {
    if (this.precision === 'float64') return null;
    return (this.gemmProvider as { simd?: GemmSimd }).simd ?? null;
  }

  /**
   * One line for logs and UIs: '2 GEMM threads', '1 GEMM thread', '1 GEMM thread (2 requested: <why>)'.
   *
   * @returns The description.
   */
  describeThreads(): string {
    const t = this.threadInfo();
    const n = `${t.running} GEMM thread${t.running === 1 ? '' : 's'}`;
    return t.running < t.requested ? `${n} (${t.requested} requested: ${t.why})` : n;
  }

  /** {@inheritDoc Backend.kernelEnabled} */
  kernelEnabled(opName: string): boolean {
    return this.kernelsOn && !this.kernelsOff.has(opName);
  }

  // ---- memory (also the API op kernels are written against) -------------------------------------------------------

  /**
   * A fresh storage of `size` floats (zeroed when asked): in the arena where it fits, else a pooled array.
   *
   * @param size - Number of floats.
   * @param zero - Zero the values (default false: contents undefined).
   * @returns The storage.
   */
  alloc(size: number, zero = false): CpuStorage {
    const arena = this.arena;
    if (arena) {
      const b = arena.alloc(size);
      if (b) {
        if (zero && !b.fresh) b.data.fill(0);
        this.live++;
        this.liveBytes += size * 4;
        const s = new CpuStorage(b.data, arena, b.ptr, b.cap);
        reclaim.register(s, { arena, ptr: b.ptr, cap: b.cap }, s);
        return s;
      }
    }
    let data: FloatArray | undefined;
    if (this.pooling) {
      data = this.free.get(size)?.pop();
      if (data) {
        this.freeBytes -= data.byteLength;
        if (zero) data.fill(0);
      }
    }
    data ??= this.precision === 'float64' ? new Float64Array(size) : new Float32Array(size);
    this.live++;
    this.liveBytes += data.byteLength;
    return new CpuStorage(data);
  }

  /**
   * this backend's arena when every storage lives in it (the wasm kernels' precondition), else null
   *
   * @param ss - Storages.
   * @returns The arena, or null.
   */
  inArena(...ss: CpuStorage[]): WasmArena | null {
    const ar = this.arena;
    if (!ar) return null;
    for (const s of ss) if (s.arena !== ar) return null;
    return ar;
  }

  /**
   * The values of a storage of this backend (a view: kernels write outputs through it).
   *
   * @param s - A storage of this backend.
   * @returns Its values.
   * @throws {@link TensorError} when the storage belongs to another backend.
   */
  array(s: object): FloatArray {
    if (!(s instanceof CpuStorage))
      throw new TensorError('cpu', 'storage from another backend was passed to the CPU backend');
    return s.data;
  }

  /** {@inheritDoc Backend.upload} */
  upload(values: Float32Array | Float64Array): CpuStorage {
    const s = this.alloc(values.length);
    s.data.set(values);
    return s;
  }

  /** {@inheritDoc Backend.download} */
  async download(s: CpuStorage, size: number): Promise<Float32Array> {
    return this.downloadSync(s, size);
  }

  /** {@inheritDoc Backend.downloadSync} */
  downloadSync(s: CpuStorage, size: number): Float32Array {
    const data = this.array(s);
    return data instanceof Float32Array ? data.slice(0, size) : Float32Array.from(data.subarray(0, size));
  }

  /**
   * A copy of the values at storage precision (Float64Array in float64 mode); for gradcheck.
   *
   * @param s - A storage of this backend.
   * @returns A copy of its values.
   */
  readValues(s: object): FloatArray {
    return this.array(s).slice();
  }

  /** {@inheritDoc Backend.dispose} */
  dispose(s: CpuStorage): void {
    const data = this.array(s);
    this.live--;
    this.liveBytes -= data.byteLength;
    const st = s as CpuStorage;
    if (st.arena) {
      reclaim.unregister(st);
      st.arena.release(st.ptr, st.cap);
      return;
    }
    // no count cap per size: a step that holds 150 buffers of one size at its peak must get all of them back, or
    // every step allocates (and page-faults) fresh memory for the difference
    if (!this.pooling || this.freeBytes + data.byteLength > this.poolBytes) return;
    let list = this.free.get(data.length);
    if (!list) {
      list = [];
      this.free.set(data.length, list);
    }
    list.push(data);
    this.freeBytes += data.byteLength;
  }

  /** {@inheritDoc Backend.memory} */
  memory(): BackendMemory {
    return { buffers: this.live, bytes: this.liveBytes };
  }

  /** Drops the free lists (buffers become garbage). */
  releaseFreeBuffers(): void {
    this.free.clear();
    this.freeBytes = 0;
  }

  // ---- primitives -----------------------------------------------------------------------------------------------

  /** {@inheritDoc Backend.fill} */
  fill(size: number, value: number): CpuStorage {
    const s = this.alloc(size);
    s.data.fill(value);
    return s;
  }

  /** {@inheritDoc Backend.unary} */
  unary(op: UnaryOp, x: CpuStorage, size: number): CpuStorage {
    const out = this.alloc(size);
    const xd = this.array(x);
    const ar = this.inArena(out, x);
    const code = wasmUnaryCode(op);
    if (ar && code !== undefined) {
      ar.parallel('unary', code, x.ptr, out.ptr, size);
      return out;
    }
    const ew = this.elementwise;
    if (
      ew &&
      size >= SIMD_MIN &&
      !keepsExact(op) &&
      xd instanceof Float32Array &&
      out.data instanceof Float32Array &&
      ew.supports(op)
    ) {
      ew.unary(op, xd, out.data, size);
    } else {
      unaryKernel(op, xd, out.data, size);
    }
    return out;
  }

  /** {@inheritDoc Backend.binary} */
  binary(
    op: BinaryOp,
    a: CpuStorage,
    aShape: readonly number[],
    b: CpuStorage,
    bShape: readonly number[],
    outShape: readonly number[],
  ): CpuStorage {
    const out = this.alloc(sizeOf(outShape));
    const A = this.array(a);
    const B = this.array(b);
    const ar = this.inArena(out, a, b);
    const code = BINARY_CODE.get(op);
    if (ar && code !== undefined) {
      const n = out.data.length;
      const na = A.length;
      const nb = B.length;
      let mode = -1;
      let row = 0;
      if (n === 0) mode = -1;
      else if (na === n && nb === n) mode = MODE.same;
      else if (nb === 1 && na === n) mode = MODE.scalarRight;
      else if (na === 1 && nb === n) mode = MODE.scalarLeft;
      else if (na === n && n % nb === 0 && isTrailing(bShape, outShape)) [mode, row] = [MODE.rowRight, nb];
      else if (nb === n && n % na === 0 && isTrailing(aShape, outShape)) [mode, row] = [MODE.rowLeft, na];
      if (mode >= 0) {
        ar.wasm.binary(code, mode, a.ptr, b.ptr, out.ptr, n, row);
        return out;
      }
    }
    binaryKernel(op, A, aShape, B, bShape, outShape, out.data);
    return out;
  }

  /** {@inheritDoc Backend.reduce} */
  reduce(op: ReduceOp, x: CpuStorage, outer: number, len: number, inner: number): CpuStorage {
    const out = this.alloc(outer * inner);
    const xd = this.array(x);
    const ar = op === 'sum' && outer * len * inner > 0 ? this.inArena(out, x) : null;
    const done =
      ar &&
      this.scratch(ar, inner > 1 ? 2 * Math.ceil(inner / 4) * 4 : 16, (acc) => {
        ar.wasm.reduceSum(x.ptr, out.ptr, outer, len, inner, acc);
        return true;
      });
    if (!done) reduceKernel(op, xd, out.data, outer, len, inner);
    return out;
  }

  /** {@inheritDoc Backend.matmul} */
  matmul(a: CpuStorage, b: CpuStorage, p: MatmulParams): CpuStorage {
    const { batch, M, K, N, transA, transB, aBatchStride, bBatchStride } = p;
    const out = this.alloc(batch * M * N);
    const A = this.array(a);
    const B = this.array(b);
    const C = out.data;
    if (A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array) {
      if (this.gemmProvider.batched) {
        this.gemmProvider.batched(A, B, C, p);
        return out;
      }
      const gemm = this.gemmProvider.gemm;
      for (let i = 0; i < batch; i++)
        gemm(A, i * aBatchStride, B, i * bBatchStride, C, i * M * N, M, K, N, transA, transB);
    } else {
      for (let i = 0; i < batch; i++) {
        gemmReference(A, i * aBatchStride, B, i * bBatchStride, C, i * M * N, M, K, N, transA, transB);
      }
    }
    return out;
  }

  /** {@inheritDoc Backend.permute} */
  permute(x: CpuStorage, shape: readonly number[], perm: readonly number[]): CpuStorage {
    const out = this.alloc(sizeOf(shape));
    permuteKernel(this.array(x), shape, perm, out.data);
    return out;
  }

  /** {@inheritDoc Backend.slice} */
  slice(x: CpuStorage, shape: readonly number[], begin: readonly number[], size: readonly number[]): CpuStorage {
    const out = this.alloc(sizeOf(size));
    boxCopy(out.data, this.array(x), shape, begin, size, false);
    return out;
  }

  /** {@inheritDoc Backend.pad} */
  pad(x: CpuStorage, shape: readonly number[], begin: readonly number[], outShape: readonly number[]): CpuStorage {
    const out = this.alloc(sizeOf(outShape), true);
    boxCopy(this.array(x), out.data, outShape, begin, shape, true);
    return out;
  }

  /** {@inheritDoc Backend.concat} */
  concat(xs: readonly CpuStorage[], shapes: readonly (readonly number[])[], axis: number): CpuStorage {
    const total = shapes.reduce((acc, s) => acc + sizeOf(s), 0);
    const out = this.alloc(total);
    concatKernel(
      xs.map((x) => this.array(x)),
      shapes,
      axis,
      out.data,
    );
    return out;
  }

  /** {@inheritDoc Backend.gather} */
  gather(table: CpuStorage, vocab: number, dim: number, indices: CpuStorage, n: number): CpuStorage {
    const out = this.alloc(n * dim);
    try {
      gatherKernel(this.array(table), vocab, dim, this.array(indices), n, out.data);
    } catch (e) {
      this.dispose(out);
      throw e;
    }
    return out;
  }

  /** {@inheritDoc Backend.scatterAdd} */
  scatterAdd(src: CpuStorage, n: number, dim: number, indices: CpuStorage, vocab: number): CpuStorage {
    const out = this.alloc(vocab * dim);
    try {
      scatterAddKernel(this.array(src), n, dim, this.array(indices), vocab, out.data);
    } catch (e) {
      this.dispose(out);
      throw e;
    }
    return out;
  }

  /** {@inheritDoc Backend.adamwUpdate} */
  adamwUpdate(param: CpuStorage, grad: CpuStorage, m: CpuStorage, v: CpuStorage, size: number, p: AdamWParams): void {
    const [P, G, M, V] = [this.array(param), this.array(grad), this.array(m), this.array(v)];
    const ar = this.inArena(param, grad, m, v);
    if (ar && size > 0) {
      const ptr = (s: CpuStorage) => s.ptr;
      const { lr, beta1, beta2, eps, weightDecay, step, gradScale } = p;
      const stepSize = lr / (1 - beta1 ** step);
      const invBc2 = 1 / (1 - beta2 ** step);
      const decay = 1 - lr * weightDecay;
      const [pp, pg, pm, pv] = [ptr(param), ptr(grad), ptr(m), ptr(v)];
      ar.parallel(
        'adamw',
        pp,
        pg,
        pm,
        pv,
        size,
        beta1,
        1 - beta1,
        beta2,
        1 - beta2,
        stepSize,
        invBc2,
        eps,
        decay,
        gradScale,
      );
      return;
    }
    adamwKernel(P, G, M, V, size, p);
  }

  /**
   * an arena scratch block of n floats for the duration of fn (null: the arena is full, take the TS path)
   *
   * @param ar - The arena.
   * @param n - Number of floats.
   * @param fn - Receives the block's address.
   * @returns What fn returns, or null when the arena is full.
   */
  scratch<T>(ar: WasmArena, n: number, fn: (ptr: number) => T): T | null {
    const b = ar.alloc(n);
    if (!b) return null;
    try {
      return fn(b.ptr);
    } finally {
      ar.release(b.ptr, b.cap);
    }
  }
}
