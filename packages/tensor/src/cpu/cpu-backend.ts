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
import { mergeHeadsKernel, ropeKernel, splitHeadsKernel } from './kernels/attention.js';
import { crossEntropyBackwardKernel, crossEntropyKernel } from './kernels/cross-entropy.js';
import { binaryKernel, unaryKernel } from './kernels/elementwise.js';
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
import { createWasmElementwise, type WasmElementwiseProvider } from './wasm/wasm-elementwise.js';
import { defaultGemmProvider } from './wasm/wasm-gemm.js';

/** below this many elements the TS loop beats the call into wasm */
const SIMD_MIN = 64;

let sharedElementwise: WasmElementwiseProvider | null | undefined;

/** one elementwise provider per process (its calls are synchronous and it keeps no state between them) */
function defaultElementwise(): WasmElementwiseProvider | null {
  if (sharedElementwise === undefined) sharedElementwise = createWasmElementwise();
  return sharedElementwise;
}

/** CPU storage: one Float32Array of exactly the tensor's size. */
export class CpuStorage {
  constructor(readonly data: FloatArray) {}
}

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
  readonly precision: 'float32' | 'float64';
  private free = new Map<number, FloatArray[]>();
  private freeBytes = 0;
  private live = 0;
  private liveBytes = 0;
  private readonly pooling: boolean;
  private readonly poolBytes: number;

  constructor(opts: CpuBackendOptions = {}) {
    this.gemmProvider = opts.gemm ?? defaultGemmProvider();
    this.pooling = opts.pool ?? true;
    this.poolBytes = opts.poolBytes ?? 512 * 2 ** 20;
    this.elementwise = opts.simdElementwise === false ? null : defaultElementwise();
    this.precision = opts.precision ?? 'float32';
    const fused: Partial<FusedKernels> = opts.fused === false ? {} : this.makeFused();
    for (const k of opts.disableFused ?? []) delete fused[k];
    this.fused = fused;
    this.name = `cpu${opts.fused === false ? '(composite)' : ''}${this.precision === 'float64' ? '(float64)' : ''}`;
  }

  // ---- memory ---------------------------------------------------------------------------------------------------

  private alloc(size: number, zero = false): CpuStorage {
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
    const ew = this.elementwise;
    if (ew && size >= SIMD_MIN && xd instanceof Float32Array && out.data instanceof Float32Array && ew.supports(op)) {
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
    binaryKernel(op, this.d(a), aShape, this.d(b), bShape, outShape, out.data);
    return out;
  }

  reduce(op: ReduceOp, x: Storage, outer: number, len: number, inner: number): Storage {
    const out = this.alloc(outer * inner);
    reduceKernel(op, this.d(x), out.data, outer, len, inner);
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
    adamwKernel(this.d(param), this.d(grad), this.d(m), this.d(v), size, p);
  }

  // ---- fused kernels --------------------------------------------------------------------------------------------

  private makeFused(): FusedKernels {
    return {
      softmax: (x: Storage, p: SoftmaxParams) => {
        const out = this.alloc(p.rows * p.cols);
        softmaxKernel(this.d(x), out.data, p);
        return out;
      },
      softmaxBackward: (y: Storage, dy: Storage, p: SoftmaxParams) => {
        const out = this.alloc(p.rows * p.cols);
        softmaxBackwardKernel(this.d(y), this.d(dy), out.data, p);
        return out;
      },
      crossEntropy: (logits: Storage, targets: Storage, rows: number, vocab: number) => {
        const out = this.alloc(rows);
        try {
          crossEntropyKernel(this.d(logits), this.d(targets), out.data, rows, vocab);
        } catch (e) {
          this.dispose(out);
          throw e;
        }
        return out;
      },
      crossEntropyBackward: (logits: Storage, targets: Storage, dLoss: Storage, rows: number, vocab: number) => {
        const out = this.alloc(rows * vocab);
        crossEntropyBackwardKernel(this.d(logits), this.d(targets), this.d(dLoss), out.data, rows, vocab);
        return out;
      },
      rmsnormForward: (x: Storage, g: Storage | null, p: NormForwardParams) => {
        const y = this.alloc(p.rows * p.dim);
        const rstd = this.alloc(p.rows);
        rmsnormForwardKernel(this.d(x), g ? this.d(g) : null, y.data, rstd.data, p.rows, p.dim, p.eps);
        return { y, rstd };
      },
      rmsnormBackward: (dy: Storage, x: Storage, g: Storage | null, rstd: Storage, rows: number, dim: number) => {
        const dx = this.alloc(rows * dim);
        const dg = g ? this.alloc(dim) : null;
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
        return { dx, dg };
      },
      layernormForward: (x: Storage, g: Storage | null, b: Storage | null, p: NormForwardParams) => {
        const y = this.alloc(p.rows * p.dim);
        const mean = this.alloc(p.rows);
        const rstd = this.alloc(p.rows);
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
        return { dx, dg, db };
      },
      splitHeads: (x: Storage, p: HeadsParams) => {
        const size = p.batch * p.seq * p.heads * p.headDim;
        const outs = Array.from({ length: p.parts }, () => this.alloc(size));
        splitHeadsKernel(
          this.d(x),
          outs.map((o) => o.data),
          p,
        );
        return outs;
      },
      mergeHeads: (xs: readonly Storage[], p: HeadsParams) => {
        const out = this.alloc(p.batch * p.seq * p.parts * p.heads * p.headDim);
        mergeHeadsKernel(
          xs.map((x) => this.d(x)),
          out.data,
          p,
        );
        return out;
      },
      rope: (x: Storage, p: RopeParams) => {
        const out = this.alloc(p.rows * p.seq * p.headDim);
        ropeKernel(this.d(x), out.data, p);
        return out;
      },
    };
  }
}
