import type {
  AdamWParams,
  Backend,
  BackendMemory,
  BinaryOp,
  FusedKernels,
  HeadsParams,
  MatmulParams,
  NormForwardParams,
  ReduceOp,
  RopeParams,
  SoftmaxParams,
  Storage,
  UnaryOp,
} from '../backend.js';
import { TensorError } from '../errors.js';
import { sizeOf } from '../shape.js';
import type { GemmProvider } from './gemm.js';
import { adamwKernel } from './kernels/adamw.js';
import { mergeHeadsKernel, ropeKernel, ropeTable, splitHeadsKernel } from './kernels/attention.js';
import { checkTargets, crossEntropyBackwardKernel, crossEntropyKernel } from './kernels/cross-entropy.js';
import { binaryKernel, isTrailing, swigluBackwardKernel, swigluKernel, unaryKernel } from './kernels/elementwise.js';
import type { FloatArray } from './kernels/float-array.js';
import { gatherKernel, scatterAddKernel } from './kernels/gather.js';
import { gemmReference } from './kernels/gemm-reference.js';
import { boxCopy, concatKernel, permuteKernel } from './kernels/movement.js';
import {
  layernormBackwardKernel,
  layernormForwardKernel,
  rmsnormBackwardKernel,
  rmsnormForwardKernel,
} from './kernels/norm.js';
import { reduceKernel } from './kernels/reduce.js';
import { softmaxBackwardKernel, softmaxKernel } from './kernels/softmax.js';
import { BINARY_CODES, BINARY_MODES, UNARY_CODES } from './wasm/kernels.gen.js';
import { sharedArena, type WasmArena } from './wasm/wasm-arena.js';
import { createWasmElementwise, type WasmElementwiseProvider } from './wasm/wasm-elementwise.js';
import { defaultGemmProvider } from './wasm/wasm-gemm.js';

/** TINYFORMER_CPU_THREADS if set to 1 or 2, else 2 where the host has at least 2 cores, else 1 */
export function defaultThreads(): 1 | 2 {
  const proc = (
    globalThis as { process?: { env?: Record<string, string | undefined>; getBuiltinModule?: (id: string) => unknown } }
  ).process;
  const env = proc?.env?.TINYFORMER_CPU_THREADS;
  if (env === '1' || env === '2') return Number(env) as 1 | 2;
  const os = proc?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
  const cores =
    os?.availableParallelism?.() ??
    (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ??
    1;
  return cores >= 2 ? 2 : 1;
}

/** below this many elements the TS loop beats the call into wasm */
const SIMD_MIN = 64;

let sharedElementwise: WasmElementwiseProvider | null | undefined;

/** one elementwise provider per process (its calls are synchronous and it keeps no state between them) */
function defaultElementwise(): WasmElementwiseProvider | null {
  if (sharedElementwise === undefined) sharedElementwise = createWasmElementwise();
  return sharedElementwise;
}

/**
 * CPU storage: one Float32Array of exactly the tensor's size (Float64Array in float64 mode). With the wasm arena it
 * is a view into the arena's memory: `ptr` is its byte address there and `cap` its padded size in floats (null, -1
 * and 0 for an ordinary array).
 */
export class CpuStorage {
  constructor(
    readonly data: FloatArray,
    readonly arena: WasmArena | null = null,
    readonly ptr = -1,
    readonly cap = 0,
  ) {}
}

const UNARY_CODE = new Map<string, number>(UNARY_CODES.map((op, i) => [op, i]));
/**
 * Unary ops that keep the TS kernel even in the arena: exp and rsqrt, whose JS results are correctly rounded (the
 * SIMD ones are within 1-2 ulp) and which users compare exactly; neither is on a training step's hot path (softmax
 * and cross-entropy are fused). The other SIMD unary ops give the JS results bit for bit (neg, square, sqrt,
 * reciprocal, abs, relu, step) or are approximations anyway (the activations).
 */
const KEEP_EXACT = new Set<UnaryOp>(['exp', 'rsqrt']);
const BINARY_CODE = new Map<string, number>(BINARY_CODES.map((op, i) => [op, i]));
const MODE = Object.fromEntries(BINARY_MODES.map((m, i) => [m, i])) as Record<(typeof BINARY_MODES)[number], number>;

/** an arena block's address and size, for the finalizer of a storage that was dropped without dispose() */
interface Held {
  arena: WasmArena;
  ptr: number;
  cap: number;
}

/** returns arena blocks of storages that were garbage-collected without dispose() (as the JS heap would) */
const reclaim = new FinalizationRegistry<Held>((h) => h.arena.release(h.ptr, h.cap));

export interface CpuBackendOptions {
  /** provide the fused kernels (default true); false gives the composite-only backend tests compare against */
  fused?: boolean;
  /** fused kernels to leave out (the ops then take their composite path), e.g. to measure what one kernel buys */
  disableFused?: readonly (keyof FusedKernels)[];
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
   * host has 2+ cores and worker_threads, else 1. The split is per-shape adaptive: it keeps a running time of 1 and
   * 2 threads for each product shape and uses the faster, so when another process holds the second core it falls
   * back to 1 (measured on the 2-core dev VM: baby-GPT training 1.34-1.37x faster with a free core, 0.98x with a
   * busy one). Results are bit-identical either way (each output element is one thread's sum). The environment
   * variable TINYFORMER_CPU_THREADS=1 or 2 overrides the default. Ignored with `gemm` or without the arena.
   */
  threads?: 1 | 2;
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
export class CpuBackend implements Backend {
  readonly specificationVersion = 'v1' as const;
  readonly name: string;
  readonly synchronous = true;
  readonly fused: Partial<FusedKernels>;
  gemmProvider: GemmProvider;
  /** the SIMD elementwise kernels in use, or null (plain TS) */
  readonly elementwise: WasmElementwiseProvider | null;
  /** the wasm arena float32 tensors live in, or null (ordinary Float32Arrays) */
  readonly arena: WasmArena | null;
  readonly precision: 'float32' | 'float64';
  private free = new Map<number, FloatArray[]>();
  private freeBytes = 0;
  private live = 0;
  private liveBytes = 0;
  private readonly pooling: boolean;
  private readonly poolBytes: number;

  constructor(opts: CpuBackendOptions = {}) {
    this.pooling = opts.pool ?? true;
    this.poolBytes = opts.poolBytes ?? 512 * 2 ** 20;
    this.precision = opts.precision ?? 'float32';
    const simd = opts.simdElementwise !== false;
    this.elementwise = simd ? defaultElementwise() : null;
    this.arena =
      simd && opts.arena !== false && this.pooling && this.precision === 'float32'
        ? sharedArena(opts.threads ?? defaultThreads())
        : null;
    this.gemmProvider = opts.gemm ?? this.arena?.gemmProvider ?? defaultGemmProvider();
    const fused: Partial<FusedKernels> = opts.fused === false ? {} : this.makeFused();
    for (const k of opts.disableFused ?? []) delete fused[k];
    this.fused = fused;
    this.name = `cpu${opts.fused === false ? '(composite)' : ''}${this.precision === 'float64' ? '(float64)' : ''}`;
  }

  // ---- memory ---------------------------------------------------------------------------------------------------

  private alloc(size: number, zero = false): CpuStorage {
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

  /** this backend's arena when every storage lives in it (the wasm kernels' precondition), else null */
  private inArena(...ss: Storage[]): WasmArena | null {
    const ar = this.arena;
    if (!ar) return null;
    for (const s of ss) if ((s as CpuStorage).arena !== ar) return null;
    return ar;
  }

  private d(s: Storage): FloatArray {
    if (!(s instanceof CpuStorage))
      throw new TensorError('cpu', 'storage from another backend was passed to the CPU backend');
    return s.data;
  }

  upload(values: Float32Array | Float64Array): Storage {
    const s = this.alloc(values.length);
    s.data.set(values);
    return s;
  }

  async download(s: Storage, size: number): Promise<Float32Array> {
    return this.downloadSync(s, size);
  }

  downloadSync(s: Storage, size: number): Float32Array {
    const data = this.d(s);
    return data instanceof Float32Array ? data.slice(0, size) : Float32Array.from(data.subarray(0, size));
  }

  /** A copy of the values at storage precision (Float64Array in float64 mode); for gradcheck. */
  readValues(s: Storage): FloatArray {
    return this.d(s).slice();
  }

  dispose(s: Storage): void {
    const data = this.d(s);
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

  memory(): BackendMemory {
    return { buffers: this.live, bytes: this.liveBytes };
  }

  /** Drops the free lists (buffers become garbage). */
  releaseFreeBuffers(): void {
    this.free.clear();
    this.freeBytes = 0;
  }

  // ---- primitives -----------------------------------------------------------------------------------------------

  fill(size: number, value: number): Storage {
    const s = this.alloc(size);
    s.data.fill(value);
    return s;
  }

  unary(op: UnaryOp, x: Storage, size: number): Storage {
    const out = this.alloc(size);
    const xd = this.d(x);
    const ar = this.inArena(out, x);
    const code = KEEP_EXACT.has(op) ? undefined : UNARY_CODE.get(op);
    if (ar && code !== undefined) {
      ar.exp.unary(code, (x as CpuStorage).ptr, out.ptr, size);
      return out;
    }
    const ew = this.elementwise;
    if (
      ew &&
      size >= SIMD_MIN &&
      !KEEP_EXACT.has(op) &&
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

  binary(
    op: BinaryOp,
    a: Storage,
    aShape: readonly number[],
    b: Storage,
    bShape: readonly number[],
    outShape: readonly number[],
  ): Storage {
    const out = this.alloc(sizeOf(outShape));
    const A = this.d(a);
    const B = this.d(b);
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
        ar.exp.binary(code, mode, (a as CpuStorage).ptr, (b as CpuStorage).ptr, out.ptr, n, row);
        return out;
      }
    }
    binaryKernel(op, A, aShape, B, bShape, outShape, out.data);
    return out;
  }

  reduce(op: ReduceOp, x: Storage, outer: number, len: number, inner: number): Storage {
    const out = this.alloc(outer * inner);
    const xd = this.d(x);
    const ar = op === 'sum' && outer * len * inner > 0 ? this.inArena(out, x) : null;
    const done =
      ar &&
      this.scratch(ar, inner > 1 ? 2 * Math.ceil(inner / 4) * 4 : 16, (acc) => {
        ar.exp.reduceSum((x as CpuStorage).ptr, out.ptr, outer, len, inner, acc);
        return true;
      });
    if (!done) reduceKernel(op, xd, out.data, outer, len, inner);
    return out;
  }

  matmul(a: Storage, b: Storage, p: MatmulParams): Storage {
    const { batch, M, K, N, transA, transB, aBatchStride, bBatchStride } = p;
    const out = this.alloc(batch * M * N);
    const A = this.d(a);
    const B = this.d(b);
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

  permute(x: Storage, shape: readonly number[], perm: readonly number[]): Storage {
    const out = this.alloc(sizeOf(shape));
    permuteKernel(this.d(x), shape, perm, out.data);
    return out;
  }

  slice(x: Storage, shape: readonly number[], begin: readonly number[], size: readonly number[]): Storage {
    const out = this.alloc(sizeOf(size));
    boxCopy(out.data, this.d(x), shape, begin, size, false);
    return out;
  }

  pad(x: Storage, shape: readonly number[], begin: readonly number[], outShape: readonly number[]): Storage {
    const out = this.alloc(sizeOf(outShape), true);
    boxCopy(this.d(x), out.data, outShape, begin, shape, true);
    return out;
  }

  concat(xs: readonly Storage[], shapes: readonly (readonly number[])[], axis: number): Storage {
    const total = shapes.reduce((acc, s) => acc + sizeOf(s), 0);
    const out = this.alloc(total);
    concatKernel(
      xs.map((x) => this.d(x)),
      shapes,
      axis,
      out.data,
    );
    return out;
  }

  gather(table: Storage, vocab: number, dim: number, indices: Storage, n: number): Storage {
    const out = this.alloc(n * dim);
    try {
      gatherKernel(this.d(table), vocab, dim, this.d(indices), n, out.data);
    } catch (e) {
      this.dispose(out);
      throw e;
    }
    return out;
  }

  scatterAdd(src: Storage, n: number, dim: number, indices: Storage, vocab: number): Storage {
    const out = this.alloc(vocab * dim);
    try {
      scatterAddKernel(this.d(src), n, dim, this.d(indices), vocab, out.data);
    } catch (e) {
      this.dispose(out);
      throw e;
    }
    return out;
  }

  adamwUpdate(param: Storage, grad: Storage, m: Storage, v: Storage, size: number, p: AdamWParams): void {
    const [P, G, M, V] = [this.d(param), this.d(grad), this.d(m), this.d(v)];
    const ar = this.inArena(param, grad, m, v);
    if (ar && size > 0) {
      const ptr = (s: Storage) => (s as CpuStorage).ptr;
      const { lr, beta1, beta2, eps, weightDecay, step, gradScale } = p;
      const stepSize = lr / (1 - beta1 ** step);
      const invBc2 = 1 / (1 - beta2 ** step);
      const decay = 1 - lr * weightDecay;
      const [pp, pg, pm, pv] = [ptr(param), ptr(grad), ptr(m), ptr(v)];
      ar.exp.adamw(pp, pg, pm, pv, size, beta1, 1 - beta1, beta2, 1 - beta2, stepSize, invBc2, eps, decay, gradScale);
      return;
    }
    adamwKernel(P, G, M, V, size, p);
  }

  // ---- fused kernels --------------------------------------------------------------------------------------------

  /** an arena scratch block of n floats for the duration of fn (null: the arena is full, take the TS path) */
  private scratch<T>(ar: WasmArena, n: number, fn: (ptr: number) => T): T | null {
    const b = ar.alloc(n);
    if (!b) return null;
    try {
      return fn(b.ptr);
    } finally {
      ar.release(b.ptr, b.cap);
    }
  }

  /** the f32 cos/sin tables of `ropeTable` in the arena, positions [0, len), cached per (arena, base, headDim) */
  private ropeTablesIn(ar: WasmArena, base: number, hd: number, end: number): { cos: number; sin: number } | null {
    const key = `${base},${hd}`;
    let t = arenaRopeTables.get(ar)?.get(key);
    if (!t || t.len < end) {
      const src = ropeTable(base, hd, end);
      const n = src.len * (hd / 2);
      const cos = ar.alloc(n);
      const sin = ar.alloc(n);
      if (!cos || !sin) {
        if (cos) ar.release(cos.ptr, cos.cap);
        return null;
      }
      cos.data.set(src.cos);
      sin.data.set(src.sin);
      if (t) {
        ar.release(t.cos.ptr, t.cos.cap);
        ar.release(t.sin.ptr, t.sin.cap);
      }
      t = { len: src.len, cos, sin };
      let m = arenaRopeTables.get(ar);
      if (!m) arenaRopeTables.set(ar, (m = new Map()));
      m.set(key, t);
    }
    return { cos: t.cos.ptr, sin: t.sin.ptr };
  }

  private makeFused(): FusedKernels {
    const ptr = (s: Storage | null) => (s ? (s as CpuStorage).ptr : 0);
    return {
      softmax: (x: Storage, p: SoftmaxParams) => {
        const out = this.alloc(p.rows * p.cols);
        const ar = this.inArena(out, x);
        if (ar) ar.exp.softmax(ptr(x), out.ptr, p.rows, p.cols, p.causalQueryLen, p.log ? 1 : 0);
        else softmaxKernel(this.d(x), out.data, p);
        return out;
      },
      softmaxBackward: (y: Storage, dy: Storage, p: SoftmaxParams) => {
        const out = this.alloc(p.rows * p.cols);
        const ar = this.inArena(out, y, dy);
        if (ar) ar.exp.softmaxBackward(ptr(y), ptr(dy), out.ptr, p.rows, p.cols, p.causalQueryLen, p.log ? 1 : 0);
        else softmaxBackwardKernel(this.d(y), this.d(dy), out.data, p);
        return out;
      },
      crossEntropy: (logits: Storage, targets: Storage, rows: number, vocab: number) => {
        const out = this.alloc(rows);
        try {
          const ar = this.inArena(out, logits, targets);
          if (ar && rows > 0) {
            checkTargets(this.d(targets), rows, vocab);
            ar.exp.crossEntropy(ptr(logits), ptr(targets), out.ptr, rows, vocab);
          } else {
            crossEntropyKernel(this.d(logits), this.d(targets), out.data, rows, vocab);
          }
        } catch (e) {
          this.dispose(out);
          throw e;
        }
        return out;
      },
      crossEntropyBackward: (logits: Storage, targets: Storage, dLoss: Storage, rows: number, vocab: number) => {
        const out = this.alloc(rows * vocab);
        try {
          const ar = this.inArena(out, logits, targets, dLoss);
          if (ar && rows > 0) {
            checkTargets(this.d(targets), rows, vocab);
            const dn = this.d(dLoss).length === 1 ? 1 : rows;
            ar.exp.crossEntropyBackward(ptr(logits), ptr(targets), ptr(dLoss), dn, out.ptr, rows, vocab);
          } else {
            crossEntropyBackwardKernel(this.d(logits), this.d(targets), this.d(dLoss), out.data, rows, vocab);
          }
        } catch (e) {
          this.dispose(out);
          throw e;
        }
        return out;
      },
      unaryMul: (op: UnaryOp, x: Storage, y: Storage, size: number) => {
        const out = this.alloc(size);
        const ar = this.inArena(out, x, y);
        const code = UNARY_CODE.get(op);
        if (ar && code !== undefined && !KEEP_EXACT.has(op)) {
          ar.exp.unaryMul(code, ptr(x), ptr(y), out.ptr, size);
        } else {
          unaryKernel(op, this.d(x), out.data, size);
          const yd = this.d(y);
          const o = out.data;
          for (let i = 0; i < size; i++) o[i] = yd[i]! * o[i]!;
        }
        return out;
      },
      swiglu: (a: Storage, b: Storage, size: number) => {
        const out = this.alloc(size);
        const ar = this.inArena(out, a, b);
        if (ar) ar.exp.swiglu(ptr(a), ptr(b), out.ptr, size);
        else swigluKernel(this.d(a), this.d(b), out.data, size);
        return out;
      },
      swigluBackward: (a: Storage, b: Storage, dy: Storage, size: number) => {
        const da = this.alloc(size);
        const db = this.alloc(size);
        const ar = this.inArena(da, db, a, b, dy);
        if (ar) ar.exp.swigluBackward(ptr(a), ptr(b), ptr(dy), da.ptr, db.ptr, size);
        else swigluBackwardKernel(this.d(a), this.d(b), this.d(dy), da.data, db.data, size);
        return { da, db };
      },
      rmsnormForward: (x: Storage, g: Storage | null, p: NormForwardParams) => {
        const y = this.alloc(p.rows * p.dim);
        const rstd = this.alloc(p.rows);
        const ar = g ? this.inArena(y, rstd, x, g) : this.inArena(y, rstd, x);
        if (ar) ar.exp.rmsnormForward(ptr(x), ptr(g), y.ptr, rstd.ptr, p.rows, p.dim, p.eps);
        else rmsnormForwardKernel(this.d(x), g ? this.d(g) : null, y.data, rstd.data, p.rows, p.dim, p.eps);
        return { y, rstd };
      },
      rmsnormBackward: (dy: Storage, x: Storage, g: Storage | null, rstd: Storage, rows: number, dim: number) => {
        const dx = this.alloc(rows * dim);
        const dg = g ? this.alloc(dim) : null;
        const ar = g && dg ? this.inArena(dx, dg, dy, x, g, rstd) : this.inArena(dx, dy, x, rstd);
        const done =
          ar &&
          this.scratch(ar, 2 * Math.ceil(dim / 4) * 4, (acc) => {
            ar.exp.rmsnormBackward(ptr(dy), ptr(x), ptr(g), ptr(rstd), dx.ptr, ptr(dg), acc, rows, dim);
            return true;
          });
        if (!done) {
          rmsnormBackwardKernel(
            this.d(dy),
            this.d(x),
            g ? this.d(g) : null,
            this.d(rstd),
            dx.data,
            dg?.data ?? null,
            rows,
            dim,
          );
        }
        return { dx, dg };
      },
      layernormForward: (x: Storage, g: Storage | null, b: Storage | null, p: NormForwardParams) => {
        const y = this.alloc(p.rows * p.dim);
        const mean = this.alloc(p.rows);
        const rstd = this.alloc(p.rows);
        const ar = this.inArena(y, mean, rstd, x, ...(g ? [g] : []), ...(b ? [b] : []));
        if (ar) {
          ar.exp.layernormForward(ptr(x), ptr(g), ptr(b), y.ptr, mean.ptr, rstd.ptr, p.rows, p.dim, p.eps);
        } else {
          layernormForwardKernel(
            this.d(x),
            g ? this.d(g) : null,
            b ? this.d(b) : null,
            y.data,
            mean.data,
            rstd.data,
            p.rows,
            p.dim,
            p.eps,
          );
        }
        return { y, mean, rstd };
      },
      layernormBackward: (
        dy: Storage,
        x: Storage,
        g: Storage | null,
        mean: Storage,
        rstd: Storage,
        rows: number,
        dim: number,
        withBias: boolean,
      ) => {
        const dx = this.alloc(rows * dim);
        const dg = g ? this.alloc(dim) : null;
        const db = withBias ? this.alloc(dim) : null;
        const ar = this.inArena(dx, dy, x, mean, rstd, ...[g, dg, db].filter((s): s is Storage => s !== null));
        const done =
          ar &&
          this.scratch(ar, 4 * Math.ceil(dim / 4) * 4, (acc) => {
            ar.exp.layernormBackward(
              ptr(dy),
              ptr(x),
              ptr(g),
              ptr(mean),
              ptr(rstd),
              dx.ptr,
              ptr(dg),
              ptr(db),
              acc,
              rows,
              dim,
            );
            return true;
          });
        if (!done) {
          layernormBackwardKernel(
            this.d(dy),
            this.d(x),
            g ? this.d(g) : null,
            this.d(mean),
            this.d(rstd),
            dx.data,
            dg?.data ?? null,
            db?.data ?? null,
            rows,
            dim,
          );
        }
        return { dx, dg, db };
      },
      splitHeads: (x: Storage, p: HeadsParams) => {
        const size = p.batch * p.seq * p.heads * p.headDim;
        const outs = Array.from({ length: p.parts }, () => this.alloc(size));
        const ar = p.headDim % 4 === 0 ? this.inArena(x, ...outs) : null;
        if (ar) {
          for (let q = 0; q < p.parts; q++) {
            ar.exp.heads(ptr(x), outs[q]!.ptr, p.batch, p.seq, p.heads, p.headDim, p.parts, q, 1);
          }
        } else {
          splitHeadsKernel(
            this.d(x),
            outs.map((o) => o.data),
            p,
          );
        }
        return outs;
      },
      mergeHeads: (xs: readonly Storage[], p: HeadsParams) => {
        const out = this.alloc(p.batch * p.seq * p.parts * p.heads * p.headDim);
        const ar = p.headDim % 4 === 0 ? this.inArena(out, ...xs) : null;
        if (ar) {
          for (let q = 0; q < p.parts; q++) {
            ar.exp.heads(out.ptr, ptr(xs[q]!), p.batch, p.seq, p.heads, p.headDim, p.parts, q, 0);
          }
        } else {
          mergeHeadsKernel(
            xs.map((x) => this.d(x)),
            out.data,
            p,
          );
        }
        return out;
      },
      rope: (x: Storage, p: RopeParams) => {
        const out = this.alloc(p.rows * p.seq * p.headDim);
        const ar = p.headDim % 8 === 0 ? this.inArena(out, x) : null;
        const tables = ar ? this.ropeTablesIn(ar, p.base, p.headDim, p.startPos + p.seq) : null;
        if (ar && tables) {
          const scale = p.scale ?? 1;
          const { rows, seq, headDim, startPos } = p;
          ar.exp.rope(
            ptr(x),
            out.ptr,
            tables.cos,
            tables.sin,
            rows,
            seq,
            headDim,
            startPos,
            scale,
            p.inverse ? -scale : scale,
          );
        } else {
          ropeKernel(this.d(x), out.data, p);
        }
        return out;
      },
    };
  }
}

interface ArenaBlock {
  ptr: number;
  cap: number;
}

/** RoPE tables copied into each arena (f32), kept for the process */
const arenaRopeTables = new WeakMap<WasmArena, Map<string, { len: number; cos: ArenaBlock; sin: ArenaBlock }>>();
