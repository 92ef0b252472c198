import {
  type AdamWParams,
  type Backend,
  type BackendMemory,
  type BinaryOp,
  type MatmulParams,
  type ReduceOp,
  type SoftmaxParams,
  TensorError,
  type UnaryOp,
} from '@tinyformer/tensor';
import { broadcastStrides, contiguousStrides, type Grid, type GridLimits, toGrid } from './grid.js';
import { BINARY_CODES, KERNELS, type KernelName, UNARY_CODES } from './kernels.js';
import {
  type AdapterInfo,
  adapterInfoOf,
  adapterLabel,
  type BufferResult,
  envText,
  type GpuJsContext,
  type GpuJsGPU,
  type GpuJsModule,
  installNavigatorGpu,
  isSoftwareAdapter,
  type KernelShortcut,
  loadGpuJs,
} from './webgpu-env.js';

/**
 * GPU storage: a mutable wrapper around one device-resident gpu.js WebGPUBufferResult, so adamwUpdate can swap
 * fresh buffers in "in place". Small uploads keep a host copy of their values, which lets gather, scatterAdd
 * and crossEntropy validate indices synchronously (like the CPU backend) and build scatter indices on the host.
 */
export class GpuStorage {
  /** set once dispose() has freed the buffer */
  disposed = false;
  /** the handle lives in a cell the leak backstop can reach without keeping the storage alive */
  readonly cell: { handle: BufferResult | null };
  /**
   * @param handle - The device buffer (null for an empty storage).
   * @param size - Number of values.
   * @param host - A host copy of the values (small uploads only), or null.
   */
  constructor(
    handle: BufferResult | null,
    /** number of values */
    readonly size: number,
    /** a host copy of the values (small uploads only), or null */
    public host: Float32Array | null = null,
  ) {
    this.cell = { handle };
  }

  /** the device buffer, or null once disposed or for an empty storage */
  get handle(): BufferResult | null {
    return this.cell.handle;
  }

  set handle(h: BufferResult | null) {
    this.cell.handle = h;
  }
}

/** What a GpuBackend has done so far (for tests and benchmarks). */
export interface GpuBackendStats {
  /** readbacks (download calls that reached the device) */
  downloads: number;
  /** kernel dispatches */
  dispatches: number;
  /** uploads (upload calls) */
  uploads: number;
  /** buffers freed by the garbage-collection backstop: storages dropped without dispose() (a leak upstream) */
  reclaimed: number;
}

/** Uploads up to this many values keep a host copy (token ids, targets); larger ones (weights) do not. */
const HOST_SHADOW_MAX = 1 << 18;
/** Reductions longer than this run in chunks of CHUNK when there are few outputs (two passes, more threads). */
const CHUNK = 256;

type Arg = BufferResult | number;

/**
 * The gpu.js WebGPU backend. Every op dispatches a pipeline kernel and returns its output buffer at once: after
 * warm-up a built gpu.js WebGPU kernel submits synchronously and `kernel.outputBuffer` is the fresh buffer of
 * that call (docs/gpujs-backend.md §7), so the Backend stays synchronous and nothing is read back until `download`.
 * Create it with `createGpuBackend()`; call `destroy()` when done, or Node never exits (Dawn keeps a thread).
 */
export class GpuBackend implements Backend<GpuStorage> {
  /** the Backend spec version this backend implements */
  readonly specificationVersion = 'v1' as const;
  /** the backend's name in reports */
  readonly name = 'gpu.js:webgpu';
  /** false: values are read with `await t.data()` */
  readonly synchronous = false;
  /** counters of readbacks, dispatches, uploads and reclaimed buffers */
  readonly stats: GpuBackendStats = { downloads: 0, dispatches: 0, uploads: 0, reclaimed: 0 };
  /**
   * Backstop only (docs/gpujs-backend.md §4 no. 15): V8 cannot see VRAM, so a storage dropped without dispose()
   * would hold its buffer until exit. Its buffer is freed when the storage is collected, but it still counts in
   * memory(), so the leak stays visible.
   */
  private readonly reclaim = new FinalizationRegistry<{ handle: BufferResult | null }>((cell) => {
    if (!cell.handle) return;
    cell.handle.delete();
    cell.handle = null;
    this.stats.reclaimed++;
  });
  private live = 0;
  private liveBytes = 0;
  private destroyed = false;
  private readonly kernels = new Map<KernelName, KernelShortcut>();
  /**
   * Thread limits of the dispatch grid, from the device. Lowering them makes small shapes take the dim-splitting
   * and chunking paths that only huge tensors need otherwise (the tests do this).
   */
  gridLimits: GridLimits;
  private readonly device: GPUDevice;

  private constructor(
    private readonly gpujs: GpuJsModule,
    private readonly gpu: GpuJsGPU,
    private readonly context: GpuJsContext,
    /** the adapter the device runs on */
    readonly adapterInfo: AdapterInfo,
  ) {
    this.device = context.device;
    const maxGroups = this.device.limits.maxComputeWorkgroupsPerDimension;
    this.gridLimits = { xy: 8 * maxGroups, z: maxGroups };
  }

  /**
   * Builds every kernel once (compiles take 10–30 ms each on lavapipe); ops are synchronous afterwards.
   *
   * @param gpujs - The loaded gpu.js module.
   * @param context - gpu.js's acquired WebGPU context (device and adapter).
   * @returns The backend, with every kernel built.
   */
  static async create(gpujs: GpuJsModule, context: GpuJsContext): Promise<GpuBackend> {
    const gpu = new gpujs.GPU({ mode: 'webgpu' });
    const backend = new GpuBackend(gpujs, gpu, context, adapterInfoOf(context.adapter));
    await backend.warmUp();
    return backend;
  }

  private async warmUp(): Promise<void> {
    const builds: Promise<void>[] = [];
    for (const name of Object.keys(KERNELS) as KernelName[]) {
      const def = KERNELS[name];
      const k = this.gpu.createKernel(def.source, {
        output: def.rank === 1 ? [1] : def.rank === 2 ? [1, 1] : [1, 1, 1],
        argumentTypes: def.args,
        pipeline: true,
        immutable: true,
        precision: 'single',
        dynamicOutput: true,
        dynamicArguments: true,
        loopMaxIterations: 1 << 24,
      });
      this.kernels.set(name, k);
      // one tiny call builds the pipeline; later calls go through kernel.run synchronously
      // (a non-integer Float value, so gpu.js's argument type check cannot switch to an Integer variant)
      const args = Object.values(def.args).map((t) =>
        t === 'Array' ? new Float32Array(4) : t === 'Integer' ? 1 : 0.5,
      );
      builds.push(
        k(...args).then((h) => {
          (h as BufferResult).delete();
          this.releaseKernelOutput(k);
          const types = (k.kernel as unknown as { argumentTypes: string[] }).argumentTypes;
          if (types.join() !== Object.values(def.args).join()) {
            throw new Error(
              `gpu.js built kernel ${name} with argument types [${types}], not [${Object.values(def.args)}]`,
            );
          }
        }),
      );
    }
    await Promise.all(builds);
  }

  // ---- storage ---------------------------------------------------------------------------------------------------

  private wrap(buffer: GPUBuffer, size: number, host: Float32Array | null = null): GpuStorage {
    const handle = new this.gpujs.WebGPUBufferResult({
      buffer,
      output: [size],
      context: this.context,
      kernel: this.kernels.get('fill')!.kernel,
    });
    this.live++;
    this.liveBytes += size * 4;
    const s = new GpuStorage(handle, size, host);
    this.reclaim.register(s, s.cell, s);
    return s;
  }

  private empty(): GpuStorage {
    this.live++;
    return new GpuStorage(null, 0);
  }

  private s(x: object, op = 'gpu'): GpuStorage {
    if (!(x instanceof GpuStorage)) {
      throw new TensorError(op, `storage from another backend was passed to the ${this.name} backend`);
    }
    if (x.disposed) throw new TensorError(op, 'storage was used after dispose()');
    return x;
  }

  private h(x: object, op = 'gpu'): BufferResult {
    const s = this.s(x, op);
    if (!s.handle) throw new TensorError(op, 'an empty storage cannot be a kernel input');
    return s.handle;
  }

  private checkAlive(op: string): void {
    if (this.destroyed) throw new TensorError(op, 'the gpu.js:webgpu backend was destroyed');
  }

  /**
   * Runs a built kernel synchronously: kernel.run() submits and returns a Promise of a handle to its fresh
   * output buffer; the same buffer is wrapped here without awaiting. The kernel's own reference is dropped
   * at once (it would only be released at its next call), so the storage is the buffer's single owner once
   * the Promise's handle is deleted.
   */
  private run(name: KernelName, output: number[], args: Arg[], size: number): GpuStorage {
    this.checkAlive(name);
    const k = this.kernels.get(name)!;
    const kernel = k.kernel;
    if (!kernel.built) throw new TensorError(name, `kernel ${name} was not built (warm-up failed?)`);
    if (output.some((d) => d < 1 || !Number.isInteger(d))) {
      throw new TensorError(name, `invalid kernel output [${output.join(', ')}]`);
    }
    kernel.setOutput(output);
    const pending = kernel.run(...args);
    const buffer = kernel.outputBuffer;
    if (!buffer) throw new TensorError(name, 'gpu.js kernel produced no output buffer');
    this.releaseKernelOutput(k);
    pending.then(
      (h) => (h as BufferResult).delete(),
      () => {},
    );
    this.stats.dispatches++;
    return this.wrap(buffer, size);
  }

  private releaseKernelOutput(k: KernelShortcut): void {
    const kernel = k.kernel;
    const buffer = kernel.outputBuffer;
    if (!buffer) return;
    kernel.outputBuffer = null;
    kernel.bindGroupDirty = true;
    if (buffer._refs !== undefined && --buffer._refs === 0) buffer.destroy();
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.upload} */
  upload(values: Float32Array | Float64Array): GpuStorage {
    this.checkAlive('upload');
    const n = values.length;
    if (n === 0) return this.empty();
    // an oversized createBuffer only fails asynchronously (a console error and an invalid buffer): check here
    const max = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    if (n * 4 > max) {
      throw new TensorError('upload', `${n} values need ${n * 4} bytes; this WebGPU device binds at most ${max}`);
    }
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    const buffer = this.device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, n * 4);
    this.stats.uploads++;
    return this.wrap(buffer, n, n <= HOST_SHADOW_MAX ? data.slice() : null);
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.download} */
  async download(x: object, size: number): Promise<Float32Array> {
    const s = this.s(x, 'download');
    if (size === 0 || !s.handle) return new Float32Array(size);
    this.checkAlive('download');
    this.stats.downloads++;
    const values = (await s.handle.toArray()) as Float32Array;
    return values.length === size ? values : values.slice(0, size);
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.dispose} */
  dispose(x: object): void {
    if (!(x instanceof GpuStorage))
      throw new TensorError('dispose', `storage from another backend passed to ${this.name}`);
    if (x.disposed) throw new TensorError('dispose', 'storage was disposed twice');
    x.disposed = true;
    this.reclaim.unregister(x);
    this.live--;
    this.liveBytes -= x.size * 4;
    x.handle?.delete();
    x.handle = null;
    x.host = null;
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.memory} */
  memory(): BackendMemory {
    return { buffers: this.live, bytes: this.liveBytes };
  }

  /**
   * Destroys the WebGPU device so Node can exit (docs/gpujs-backend.md §4 no. 14, §5). The device is shared by
   * every gpu.js kernel in the process, so any other GpuBackend stops working too.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const k of this.kernels.values()) k.kernel.destroy();
    this.kernels.clear();
    await this.gpujs.WebGPUContext.destroy();
  }

  /** Resolves when every dispatch submitted so far has finished on the device (for timing). */
  async sync(): Promise<void> {
    this.checkAlive('sync');
    await this.device.queue.onSubmittedWorkDone();
  }

  /** true once destroy() has run */
  get isDestroyed(): boolean {
    return this.destroyed;
  }

  // ---- primitives ------------------------------------------------------------------------------------------------

  /** {@inheritDoc @tinyformer/tensor!Backend.fill} */
  fill(size: number, value: number): GpuStorage {
    if (size === 0) return this.empty();
    return this.run('fill', [size], [value], size);
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.unary} */
  unary(op: UnaryOp, x: GpuStorage, size: number): GpuStorage {
    const code = UNARY_CODES[op];
    if (code === undefined) throw new TensorError('unary', `unknown unary op '${op}'`);
    if (size === 0) return this.empty();
    return this.run('unary', [size], [this.h(x, op), code], size);
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.binary} */
  binary(
    op: BinaryOp,
    a: GpuStorage,
    aShape: readonly number[],
    b: GpuStorage,
    bShape: readonly number[],
    outShape: readonly number[],
  ): GpuStorage {
    const code = BINARY_CODES[op];
    if (code === undefined) throw new TensorError('binary', `unknown binary op '${op}'`);
    const n = outShape.reduce((p, d) => p * d, 1);
    if (n === 0) return this.empty();
    const ha = this.h(a, op);
    const hb = this.h(b, op);
    const sa = broadcastStrides(aShape, outShape);
    const sb = broadcastStrides(bShape, outShape);
    const grid = toGrid(op, { dims: [...outShape], strides: [sa, sb] }, this.gridLimits);
    const flat = grid.dims.slice(0, 5).every((d) => d === 1);
    if (flat && grid.output[0] === n) {
      // same shape or a scalar operand: the 1-D kernel with 64-wide workgroups
      return this.run('binaryFlat', [n], [ha, hb, code, grid.strides[0]![5]!, grid.strides[1]![5]!], n);
    }
    return this.run(
      'binaryGrid',
      grid.output,
      [ha, hb, code, ...gridDimArgs(grid), ...grid.strides[0]!, ...grid.strides[1]!],
      n,
    );
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.reduce} */
  reduce(op: ReduceOp, x: GpuStorage, outer: number, len: number, inner: number): GpuStorage {
    const n = outer * inner;
    if (n === 0) return this.empty();
    if (len === 0) return this.fill(n, op === 'sum' ? 0 : Number.NEGATIVE_INFINITY);
    const code = op === 'sum' ? 0 : 1;
    const input = this.s(x, op);
    this.h(x, op);
    return this.reduceChunks(code, input, outer, len, inner, false);
  }

  /** One pass per chunk level: a long axis with few outputs is cut into chunks so more threads run. */
  private reduceChunks(
    code: number,
    x: GpuStorage,
    outer: number,
    len: number,
    inner: number,
    own: boolean,
  ): GpuStorage {
    const n = outer * inner;
    const C = len > 2 * CHUNK && n < 4096 ? CHUNK : len;
    const P = Math.ceil(len / C);
    let out: GpuStorage;
    let next: { outer: number; len: number; inner: number };
    const L = this.gridLimits;
    if (inner === 1 && outer <= L.xy && P <= L.xy) {
      // memory [P, outer]: the next pass reduces P with inner = outer
      out = this.run('reduceRows', [outer, P], [x.handle!, code, len, C], n * P);
      next = { outer: 1, len: P, inner: outer };
    } else if (inner <= L.xy && P <= L.xy && outer <= L.z) {
      // memory [outer, P, inner]
      out = this.run('reduce', [inner, P, outer], [x.handle!, code, len, inner, C, 0], n * P);
      next = { outer, len: P, inner };
    } else if (inner <= L.xy && outer <= L.xy && P <= L.z) {
      // memory [P, outer, inner]
      out = this.run('reduce', [inner, outer, P], [x.handle!, code, len, inner, C, 1], n * P);
      next = { outer: 1, len: P, inner: n };
    } else {
      throw new TensorError('reduce', `[${outer}, ${len}, ${inner}] is too large for the WebGPU dispatch grid`);
    }
    if (own) this.dispose(x);
    if (P === 1) return out;
    return this.reduceChunks(code, out, next.outer, next.len, next.inner, true);
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.matmul} */
  matmul(a: GpuStorage, b: GpuStorage, p: MatmulParams): GpuStorage {
    const { batch, M, K, N, transA, transB, aBatchStride, bBatchStride } = p;
    const n = batch * M * N;
    if (n === 0) return this.empty();
    if (K === 0) return this.fill(n, 0);
    if (N > this.gridLimits.xy || M > this.gridLimits.xy || batch > this.gridLimits.z) {
      throw new TensorError('matmul', `output [${batch}, ${M}, ${N}] is too large for the WebGPU dispatch grid`);
    }
    const ai = transA ? 1 : K;
    const ak = transA ? M : 1;
    const bk = transB ? 1 : N;
    const bj = transB ? K : 1;
    return this.run(
      'matmul',
      [N, M, batch],
      [this.h(a, 'matmul'), this.h(b, 'matmul'), K, ai, ak, bk, bj, aBatchStride, bBatchStride],
      n,
    );
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.permute} */
  permute(x: GpuStorage, shape: readonly number[], perm: readonly number[]): GpuStorage {
    const n = shape.reduce((p, d) => p * d, 1);
    if (n === 0) return this.empty();
    const inStr = contiguousStrides(shape);
    const grid = toGrid(
      'permute',
      { dims: perm.map((p) => shape[p]!), strides: [perm.map((p) => inStr[p]!)] },
      this.gridLimits,
    );
    return this.run('gather6', grid.output, [this.h(x, 'permute'), 0, ...gridDimArgs(grid), ...grid.strides[0]!], n);
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.slice} */
  slice(x: GpuStorage, shape: readonly number[], begin: readonly number[], size: readonly number[]): GpuStorage {
    const n = size.reduce((p, d) => p * d, 1);
    if (n === 0) return this.empty();
    const inStr = contiguousStrides(shape);
    const base = begin.reduce((acc, b, i) => acc + b * inStr[i]!, 0);
    const grid = toGrid('slice', { dims: [...size], strides: [inStr] }, this.gridLimits);
    return this.run('gather6', grid.output, [this.h(x, 'slice'), base, ...gridDimArgs(grid), ...grid.strides[0]!], n);
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.pad} */
  pad(x: GpuStorage, shape: readonly number[], begin: readonly number[], outShape: readonly number[]): GpuStorage {
    const n = outShape.reduce((p, d) => p * d, 1);
    if (n === 0) return this.empty();
    const inSize = shape.reduce((p, d) => p * d, 1);
    if (inSize === 0) return this.fill(n, 0);
    return this.place(this.h(x, 'pad'), null, shape, begin, outShape, 'pad');
  }

  /** out = x inside the box [begin, begin + shape) of outShape, prev (or 0) elsewhere */
  private place(
    x: BufferResult,
    prev: BufferResult | null,
    shape: readonly number[],
    begin: readonly number[],
    outShape: readonly number[],
    op: string,
  ): GpuStorage {
    const n = outShape.reduce((p, d) => p * d, 1);
    const grid = toGrid(
      op,
      { dims: [...outShape], strides: [contiguousStrides(shape)], box: { begin: [...begin], size: [...shape] } },
      this.gridLimits,
    );
    const [OX, OY] = grid.output;
    return this.run(
      'place6',
      grid.output,
      [
        x,
        prev ?? x,
        prev ? 1 : 0,
        OX,
        OY,
        ...gridDimArgs(grid),
        ...grid.box!.begin,
        ...grid.box!.size,
        ...grid.strides[0]!,
      ],
      n,
    );
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.concat} */
  concat(xs: readonly GpuStorage[], shapes: readonly (readonly number[])[], axis: number): GpuStorage {
    if (xs.length === 0 || xs.length !== shapes.length) {
      throw new TensorError('concat', `expected matching storages and shapes, got ${xs.length} and ${shapes.length}`);
    }
    const outShape = [...shapes[0]!];
    outShape[axis] = shapes.reduce((acc, s) => acc + s[axis]!, 0);
    const n = outShape.reduce((p, d) => p * d, 1);
    if (n === 0) return this.empty();
    // one placing pass per non-empty input; each pass copies the previous result outside its box
    let acc: GpuStorage | null = null;
    let offset = 0;
    for (let t = 0; t < xs.length; t++) {
      const shape = shapes[t]!;
      const size = shape.reduce((p, d) => p * d, 1);
      const begin = shape.map((_, i) => (i === axis ? offset : 0));
      offset += shape[axis]!;
      if (size === 0) {
        this.s(xs[t]!, 'concat');
        continue;
      }
      const next = this.place(this.h(xs[t]!, 'concat'), acc?.handle ?? null, shape, begin, outShape, 'concat');
      if (acc) this.dispose(acc);
      acc = next;
    }
    return acc ?? this.fill(n, 0);
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.gather} */
  gather(table: GpuStorage, vocab: number, dim: number, indices: GpuStorage, n: number): GpuStorage {
    const idx = this.s(indices, 'gather');
    if (idx.host) checkIndices('gather', 'index', idx.host, n, vocab);
    if (n * dim === 0) return this.empty();
    if (dim > this.gridLimits.xy || n > this.gridLimits.xy) {
      throw new TensorError('gather', `[${n}, ${dim}] is too large for the WebGPU dispatch grid`);
    }
    return this.run(
      'gather',
      [dim, n],
      [this.h(table, 'gather'), this.h(indices, 'gather'), dim, vocab, Number.NaN],
      n * dim,
    );
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.scatterAdd} */
  scatterAdd(src: GpuStorage, n: number, dim: number, indices: GpuStorage, vocab: number): GpuStorage {
    const idx = this.s(indices, 'scatterAdd');
    if (idx.host) checkIndices('scatterAdd', 'index', idx.host, n, vocab);
    if (vocab * dim === 0) return this.empty();
    if (n === 0) return this.fill(vocab * dim, 0);
    if (dim > this.gridLimits.xy || vocab > this.gridLimits.xy) {
      throw new TensorError('scatterAdd', `[${vocab}, ${dim}] is too large for the WebGPU dispatch grid`);
    }
    const hs = this.h(src, 'scatterAdd');
    if (!idx.host) {
      // indices computed on the device: each output scans all n indices
      return this.run('scatterScan', [dim, vocab], [hs, idx.handle!, n, dim], vocab * dim);
    }
    // CSR on the host: positions grouped by index, in increasing order (same summation order as the CPU)
    const offsets = new Float32Array(vocab + 1);
    for (let i = 0; i < n; i++) offsets[idx.host[i]! + 1]!++;
    for (let v = 0; v < vocab; v++) offsets[v + 1]! += offsets[v]!;
    const fillAt = offsets.slice(0, vocab);
    const order = new Float32Array(n);
    for (let i = 0; i < n; i++) order[fillAt[idx.host[i]!]!++] = i;
    const o = this.upload(order) as GpuStorage;
    const off = this.upload(offsets) as GpuStorage;
    const out = this.run('scatterCsr', [dim, vocab], [hs, o.handle!, off.handle!, dim], vocab * dim);
    this.dispose(o);
    this.dispose(off);
    return out;
  }

  /** {@inheritDoc @tinyformer/tensor!Backend.adamwUpdate} */
  adamwUpdate(param: GpuStorage, grad: GpuStorage, m: GpuStorage, v: GpuStorage, size: number, p: AdamWParams): void {
    if (size === 0) return;
    const P = this.s(param, 'adamw');
    const M = this.s(m, 'adamw');
    const V = this.s(v, 'adamw');
    const g = this.h(grad, 'adamw');
    const { lr, beta1, beta2, eps, weightDecay, step, gradScale } = p;
    const bc1 = 1 - beta1 ** step;
    const bc2 = 1 - beta2 ** step;
    const newM = this.run('adamM', [size], [g, this.h(m), beta1, 1 - beta1, gradScale], size);
    const newV = this.run('adamV', [size], [g, this.h(v), beta2, 1 - beta2, gradScale], size);
    const newP = this.run(
      'adamP',
      [size],
      [this.h(param), newM.handle!, newV.handle!, lr, bc1, bc2, eps, 1 - lr * weightDecay],
      size,
    );
    // in place from the caller's view: the storages keep their identity and take the new buffers
    this.swapInto(P, newP);
    this.swapInto(M, newM);
    this.swapInto(V, newV);
  }

  private swapInto(target: GpuStorage, fresh: GpuStorage): void {
    const old = target.handle;
    target.handle = fresh.handle;
    target.host = null;
    fresh.handle = null;
    fresh.disposed = true;
    this.reclaim.unregister(fresh);
    this.live--;
    this.liveBytes -= fresh.size * 4;
    old?.delete();
  }

  // ---- fused kernels ---------------------------------------------------------------------------------------------

  private rowsFit(op: string, rows: number, cols: number): void {
    if (rows > this.gridLimits.xy || cols > this.gridLimits.xy) {
      throw new TensorError(op, `[${rows}, ${cols}] is too large for the WebGPU dispatch grid`);
    }
  }

  private lse(x: BufferResult, rows: number, cols: number, tq: number): GpuStorage {
    return this.run('rowLse', [rows], [x, cols, tq], rows);
  }

  /** Column sums of dy (what 0) or dy * xhat (what 1) over rows, in chunks, then summed. */
  private colSum(
    dy: BufferResult,
    x: BufferResult,
    mean: BufferResult | null,
    rstd: BufferResult,
    rows: number,
    dim: number,
    what: number,
  ): GpuStorage {
    const C = rows > 2 * CHUNK && dim < 4096 ? CHUNK : rows;
    const P = Math.ceil(rows / C);
    if (P > this.gridLimits.xy) throw new TensorError('norm', `${rows} rows are too many for the WebGPU dispatch grid`);
    const partial = this.run(
      'normColSum',
      [dim, P],
      [dy, x, mean ?? rstd, rstd, rows, dim, C, mean ? 1 : 0, what],
      P * dim,
    );
    if (P === 1) return partial;
    return this.reduceChunks(0, partial, 1, P, dim, true);
  }

  // ---- op kernels (registered for the ops in op-kernels.ts) -------------------------------------------------------

  /**
   * the softmax op's kernel
   *
   * @param x - The input rows.
   * @param p - Rows, row length, causal masking.
   * @returns The softmax of each row.
   */
  softmaxKernel(x: GpuStorage, p: SoftmaxParams): GpuStorage {
    const n = p.rows * p.cols;
    if (n === 0) return this.empty();
    this.rowsFit('softmax', p.rows, p.cols);
    const hx = this.h(x, 'softmax');
    const lse = this.lse(hx, p.rows, p.cols, p.causalQueryLen);
    const out = this.run(
      'softmaxApply',
      [p.cols, p.rows],
      [hx, lse.handle!, p.cols, p.causalQueryLen, p.log ? 1 : 0, Number.NEGATIVE_INFINITY],
      n,
    );
    this.dispose(lse);
    return out;
  }

  /**
   * the softmaxBackward op's kernel
   *
   * @param y - The softmax's output.
   * @param dy - The output gradient.
   * @param p - Rows, row length, causal masking.
   * @returns The input gradient.
   */
  softmaxBackwardKernel(y: GpuStorage, dy: GpuStorage, p: SoftmaxParams): GpuStorage {
    const n = p.rows * p.cols;
    if (n === 0) return this.empty();
    this.rowsFit('softmaxBackward', p.rows, p.cols);
    const hy = this.h(y, 'softmaxBackward');
    const hdy = this.h(dy, 'softmaxBackward');
    const isLog = p.log ? 1 : 0;
    const dot = this.run('softmaxBwdDot', [p.rows], [hy, hdy, p.cols, p.causalQueryLen, isLog], p.rows);
    const out = this.run(
      'softmaxBwdApply',
      [p.cols, p.rows],
      [hy, hdy, dot.handle!, p.cols, p.causalQueryLen, isLog],
      n,
    );
    this.dispose(dot);
    return out;
  }

  /**
   * the crossEntropy op's kernel
   *
   * @param logits - [rows, vocab] logits.
   * @param targets - rows target ids.
   * @param rows - Number of rows.
   * @param vocab - Row length.
   * @returns The per-row losses.
   */
  crossEntropyKernel(logits: GpuStorage, targets: GpuStorage, rows: number, vocab: number): GpuStorage {
    const t = this.s(targets, 'crossEntropy');
    if (t.host) checkIndices('crossEntropy', 'target', t.host, rows, vocab);
    if (rows === 0) return this.empty();
    this.rowsFit('crossEntropy', rows, vocab);
    const hl = this.h(logits, 'crossEntropy');
    const lse = this.lse(hl, rows, vocab, 0);
    const out = this.run('crossEntropy', [rows], [hl, t.handle!, lse.handle!, vocab, Number.NaN], rows);
    this.dispose(lse);
    return out;
  }

  /**
   * the crossEntropyBackward op's kernel
   *
   * @param logits - [rows, vocab] logits.
   * @param targets - rows target ids.
   * @param dLoss - The loss gradient (one value, or one per row).
   * @param rows - Number of rows.
   * @param vocab - Row length.
   * @returns The logits' gradient.
   */
  crossEntropyBackwardKernel(
    logits: GpuStorage,
    targets: GpuStorage,
    dLoss: GpuStorage,
    rows: number,
    vocab: number,
  ): GpuStorage {
    const t = this.s(targets, 'crossEntropyBackward');
    if (t.host) checkIndices('crossEntropyBackward', 'target', t.host, rows, vocab);
    const n = rows * vocab;
    if (n === 0) return this.empty();
    this.rowsFit('crossEntropyBackward', rows, vocab);
    const hl = this.h(logits, 'crossEntropyBackward');
    const d = this.s(dLoss, 'crossEntropyBackward');
    const lse = this.lse(hl, rows, vocab, 0);
    const out = this.run(
      'crossEntropyBwd',
      [vocab, rows],
      [hl, t.handle!, lse.handle!, this.h(d), vocab, d.size === 1 ? 0 : 1],
      n,
    );
    this.dispose(lse);
    return out;
  }

  /** Statistics per row (one thread per row), then one elementwise pass (docs/gpujs-backend.md §3). */
  /**
   * the rmsnorm / layernorm ops' forward kernel (centered: LayerNorm)
   *
   * @param x - The input [rows, dim].
   * @param g - The scale, or null.
   * @param b - The shift, or null.
   * @param p - Rows, features per row, eps.
   * @param centered - LayerNorm (true) or RMSNorm (false).
   * @returns y, the per-row mean (LayerNorm only) and rstd.
   */
  normForward(
    x: GpuStorage,
    g: GpuStorage | null,
    b: GpuStorage | null,
    p: { rows: number; dim: number; eps: number },
    centered: boolean,
  ): { y: GpuStorage; mean: GpuStorage | null; rstd: GpuStorage } {
    const { rows, dim, eps } = p;
    const op = centered ? 'layernorm' : 'rmsnorm';
    const hx = this.h(x, op);
    if (rows === 0) return { y: this.empty(), mean: centered ? this.empty() : null, rstd: this.empty() };
    if (dim === 0) {
      return { y: this.empty(), mean: centered ? this.fill(rows, 0) : null, rstd: this.fill(rows, 1 / Math.sqrt(eps)) };
    }
    this.rowsFit(op, rows, dim);
    const hg = g ? this.h(g, op) : null;
    const hb = b ? this.h(b, op) : null;
    const mean = centered ? this.run('rowMean', [rows], [hx, dim], rows) : null;
    const rstd = this.run('rowRstd', [rows], [hx, mean?.handle ?? hx, dim, centered ? 1 : 0, eps], rows);
    const y = this.run(
      'normApply',
      [dim, rows],
      [hx, mean?.handle ?? hx, rstd.handle!, hg ?? hx, hb ?? hx, dim, centered ? 1 : 0, hg ? 1 : 0, hb ? 1 : 0],
      rows * dim,
    );
    return { y, mean, rstd };
  }

  /**
   * their backward kernel (mean given: LayerNorm)
   *
   * @param dy - The output gradient.
   * @param x - The input.
   * @param g - The scale, or null.
   * @param mean - The forward's mean (LayerNorm), or null (RMSNorm).
   * @param rstd - The forward's rstd.
   * @param rows - Number of rows.
   * @param dim - Features per row.
   * @param withBias - Whether to compute db.
   * @returns dx, and dg and db where asked.
   */
  normBackward(
    dy: GpuStorage,
    x: GpuStorage,
    g: GpuStorage | null,
    mean: GpuStorage | null,
    rstd: GpuStorage,
    rows: number,
    dim: number,
    withBias: boolean,
  ): { dx: GpuStorage; dg: GpuStorage | null; db: GpuStorage | null } {
    const op = mean ? 'layernormBackward' : 'rmsnormBackward';
    const hdy = this.h(dy, op);
    const hx = this.h(x, op);
    const hr = this.h(rstd, op);
    const hm = mean ? this.h(mean, op) : null;
    const hg = g ? this.h(g, op) : null;
    if (rows * dim === 0) {
      return {
        dx: this.empty(),
        dg: g ? (dim === 0 ? this.empty() : this.fill(dim, 0)) : null,
        db: withBias ? (dim === 0 ? this.empty() : this.fill(dim, 0)) : null,
      };
    }
    this.rowsFit(op, rows, dim);
    const common = [dim, hg ? 1 : 0, hm ? 1 : 0];
    const m1 = hm ? this.run('normBwdRow', [rows], [hdy, hx, hg ?? hx, hm, hr, ...common, 0], rows) : null;
    const m2 = this.run('normBwdRow', [rows], [hdy, hx, hg ?? hx, hm ?? hx, hr, ...common, 1], rows);
    const dx = this.run(
      'normBwdDx',
      [dim, rows],
      [hdy, hx, hg ?? hx, hm ?? hx, hr, m1?.handle ?? m2.handle!, m2.handle!, ...common],
      rows * dim,
    );
    if (m1) this.dispose(m1);
    this.dispose(m2);
    const dg = hg ? this.colSum(hdy, hx, hm, hr, rows, dim, 1) : null;
    const db = withBias ? this.colSum(hdy, hx, hm, hr, rows, dim, 0) : null;
    return { dx, dg, db };
  }
}

function gridDimArgs(grid: Grid): number[] {
  return [grid.dims[1]!, grid.dims[2]!, grid.dims[4]!];
}

/** The CPU backend's index check, run on the host copy of small uploads. */
function checkIndices(op: string, what: string, values: Float32Array, n: number, vocab: number): void {
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v < vocab) || v !== Math.floor(v)) {
      throw new TensorError(
        op,
        `${what} ${v} at ${what === 'target' ? 'row' : 'position'} ${i} is outside [0, ${vocab})`,
      );
    }
  }
}

/** Options of createGpuBackend. */
export interface CreateGpuBackendOptions {
  /** accept a software adapter such as lavapipe/llvmpipe or SwiftShader (default false: only hardware adapters) */
  allowSoftware?: boolean;
}

/**
 * Installs navigator.gpu from the `webgpu` package (Dawn) in Node (a browser has its own), acquires gpu.js's
 * shared device and builds every kernel. Throws when there is no adapter, or when only a software adapter exists and allowSoftware is off.
 *
 * @param opts - Whether a software adapter is acceptable.
 * @returns The backend, with every kernel built.
 * @throws Error when there is no adapter, or only a software one and allowSoftware is off.
 *
 * @example
 * ```ts
 * const gpu = await createGpuBackend({ allowSoftware: true });
 * setBackend(gpu);
 * // ... train or sample ...
 * await gpu.destroy(); // or Node never exits
 * ```
 */
export async function createGpuBackend(opts: CreateGpuBackendOptions = {}): Promise<GpuBackend> {
  await installNavigatorGpu();
  const gpujs = await loadGpuJs();
  const nav = (globalThis as unknown as { navigator: { gpu: GPU } }).navigator;
  const adapter = await nav.gpu.requestAdapter();
  if (!adapter) throw new Error(envText.noAdapterError);
  const info = adapterInfoOf(adapter);
  if (isSoftwareAdapter(info) && !opts.allowSoftware) {
    throw new Error(`only a software WebGPU adapter (${adapterLabel(info)}) is available; pass allowSoftware: true`);
  }
  const context = await gpujs.WebGPUContext.acquire();
  try {
    return await GpuBackend.create(gpujs, context);
  } catch (e) {
    await gpujs.WebGPUContext.destroy();
    throw e;
  }
}
