// One persistent worker that runs half of a GEMM over the shared wasm memory (docs/cpu-simd.md §3): a Node
// worker_thread, or in a browser a dedicated Worker started from a blob: URL (no worker file for a bundler to find,
// so Vite, esbuild and webpack 5 need no configuration).
// Jobs are posted through an Int32Array control block: args, then STATE = seq, then SEQ = seq + notify.
// A job is a product cut into chunks (tile-aligned row or column ranges, or batch ranges); both threads take chunks
// from a shared counter (Atomics.add) until none are left, so a thread that runs slower (another process on its
// core, a cache it shares) simply takes fewer. The worker claims a job with CAS(STATE, seq -> -seq); the main
// thread, once the chunks are gone, tries CAS(STATE, seq -> 0): if the worker never woke up, there is nothing to
// wait for.
// The worker starts asynchronously; until it reports READY the main thread runs every product alone.
import type { Worker as NodeWorker } from 'node:worker_threads';

const SEQ = 0;
const DONE = 1;
const STATE = 2;
const OP = 3;
const READY = 4;
const FAILED = 5;
/** the next chunk to take */
const NEXT = 6;
/** chunks the worker ran in the last job */
const WORKER_CHUNKS = 7;
const ARGS = 8;
/** after the 11 args: the chunking axis, the chunk length along it, the chunk count */
const AXIS = 19;
const CHUNK = 20;
const CHUNKS = 21;
/** OP_CALL: the kernel's index in PARALLEL_KERNELS and its argument count */
const FN = 22;
const NARGS = 23;
const CTL_INTS = 32;
/** OP_CALL's arguments, as doubles (AdamW's coefficients are not integers), after the ints */
const FARGS_BYTE = CTL_INTS * 4;
const MAX_FARGS = 16;

export const OP_GEMM = 1;
export const OP_BATCHED = 2;
const OP_EXIT = 3;
/** one of PARALLEL_KERNELS, cut along its count argument */
export const OP_CALL = 4;

/**
 * The kernel-module exports besides the GEMM that both threads can run in chunks: each is cut along one count
 * argument (elements, rows or batch items). `ptrs` lists the pointer arguments that move per counted item, each as
 * [argument, ...factors]: it moves by 4 bytes times the product of those arguments (a row's length, a batch item's
 * size). `align`: the argument whose value a chunk must be a multiple of (the causal mask repeats every tq rows), or
 * -1. Every kernel listed treats its items independently, so chunks give the same bits as one call.
 */
export const PARALLEL_KERNELS = {
  /** (op, x, out, n) */
  unary: { count: 3, ptrs: [[1], [2]], align: -1 },
  /** (op, x, y, out, n) */
  unaryMul: { count: 4, ptrs: [[1], [2], [3]], align: -1 },
  /** (a, b, out, n) */
  swiglu: { count: 3, ptrs: [[0], [1], [2]], align: -1 },
  /** (a, b, g, da, db, n) */
  swigluBackward: { count: 5, ptrs: [[0], [1], [2], [3], [4]], align: -1 },
  /** (p, g, m, v, n, ...coefficients) */
  adamw: { count: 4, ptrs: [[0], [1], [2], [3]], align: -1 },
  /** (x, out, rows, cols, tq, log) */
  softmax: {
    count: 2,
    ptrs: [
      [0, 3],
      [1, 3],
    ],
    align: 4,
  },
  /** (y, dy, out, rows, cols, tq, log) */
  softmaxBackward: {
    count: 3,
    ptrs: [
      [0, 4],
      [1, 4],
      [2, 4],
    ],
    align: 5,
  },
  /** (x, g, y, rstd, rows, dim, eps) */
  rmsnormForward: { count: 4, ptrs: [[0, 5], [2, 5], [3]], align: -1 },
  /** (x, g, b, y, mean, rstd, rows, dim, eps) */
  layernormForward: { count: 6, ptrs: [[0, 7], [3, 7], [4], [5]], align: -1 },
  /** (packed [B, T, P, H, hd], part [B, H, T, hd], B, T, H, hd, P, q, toHeads): cut along B */
  heads: {
    count: 2,
    ptrs: [
      [0, 3, 6, 4, 5],
      [1, 4, 3, 5],
    ],
    align: -1,
  },
  /** (x [rows, T, hd], out, cos, sin, rows, T, hd, t0, cs, ss) */
  rope: {
    count: 4,
    ptrs: [
      [0, 5, 6],
      [1, 5, 6],
    ],
    align: -1,
  },
} as const satisfies Record<string, ParallelKernelLayout>;

/** How one of PARALLEL_KERNELS is cut (see there). */
export interface ParallelKernelLayout {
  count: number;
  ptrs: readonly (readonly number[])[];
  align: number;
}
/** The name of a kernel that `WasmArena.parallel` can cut into chunks for both threads. */
export type ParallelKernel = keyof typeof PARALLEL_KERNELS;
export const PARALLEL_NAMES = Object.keys(PARALLEL_KERNELS) as ParallelKernel[];

/** the worker spins this long after a job before it sleeps in Atomics.wait (the next matmul often follows) */
const WORKER_SPIN_MS = 0.1;
/** the main thread spins this long for the worker's half before it sleeps */
const MAIN_SPIN_MS = 0.3;

/** How a job is cut: along the rows of C (0), its columns (1) or the batch (2), `size` at a time. */
export interface ChunkPlan {
  axis: 0 | 1 | 2;
  /** rows, columns or products per chunk (rows and columns a multiple of the tile) */
  size: number;
  chunks: number;
}

/**
 * The gemm/gemmBatched arguments of chunk i of a job (`args` as posted: a, lda|aStride, b, ldb|bStride, c,
 * ldc|batch, M, K, N, transA, transB). Self-contained: the worker evaluates its source text.
 */
export function chunkArgs(args: ArrayLike<number>, axis: number, size: number, i: number): number[] {
  const r = Array.from(args);
  const start = i * size;
  const ta = r[9] !== 0;
  const tb = r[10] !== 0;
  if (axis === 0) {
    r[0] = ta ? r[0]! + 4 * start : r[0]! + 4 * start * r[1]!;
    r[4] = r[4]! + 4 * start * r[5]!;
    r[6] = Math.min(size, r[6]! - start);
  } else if (axis === 1) {
    r[2] = tb ? r[2]! + 4 * start * r[3]! : r[2]! + 4 * start;
    r[4] = r[4]! + 4 * start;
    r[8] = Math.min(size, r[8]! - start);
  } else {
    r[0] = r[0]! + 4 * start * r[1]!;
    r[2] = r[2]! + 4 * start * r[3]!;
    r[4] = r[4]! + 4 * start * r[6]! * r[8]!;
    r[5] = Math.min(size, r[5]! - start);
  }
  return r;
}

/**
 * The arguments of chunk i of an OP_CALL job: `size` items from item i * size. Self-contained: the worker evaluates
 * its source text.
 */
export function callChunkArgs(
  args: ArrayLike<number>,
  kernel: { count: number; ptrs: readonly (readonly number[])[] },
  size: number,
  i: number,
): number[] {
  const r = Array.from(args);
  const start = i * size;
  for (const [p, ...factors] of kernel.ptrs) {
    let unit = 4;
    for (const f of factors) unit *= r[f]!;
    r[p!] = r[p!]! + start * unit;
  }
  r[kernel.count] = Math.min(size, r[kernel.count]! - start);
  return r;
}

// The worker's loop, shared by both hosts: `run(data)` instantiates the modules on the shared memory (READY = 1, or
// -1 when that fails) and then serves jobs until OP_EXIT, taking chunks until none are left. The GEMM comes from
// gemmModule (the relaxed-SIMD GEMM where it runs), every other kernel from kernelModule.
const WORKER_LOOP = `
const chunkArgs = (${chunkArgs.toString()});
const callChunkArgs = (${callChunkArgs.toString()});
const KERNELS = ${JSON.stringify(PARALLEL_NAMES.map((name) => ({ name, ...PARALLEL_KERNELS[name] })))};
function run({ gemmModule, kernelModule, memory, ctlBuffer, ws }) {
  const ctl = new Int32Array(ctlBuffer);
  const fargs = new Float64Array(ctlBuffer, ${FARGS_BYTE}, ${MAX_FARGS});
  let e;
  let k;
  try {
    e = new WebAssembly.Instance(gemmModule, { env: { memory } }).exports;
    k = gemmModule === kernelModule ? e : new WebAssembly.Instance(kernelModule, { env: { memory } }).exports;
  } catch {
    Atomics.store(ctl, ${READY}, -1);
    return;
  }
  Atomics.store(ctl, ${READY}, 1);
  let last = 0;
  for (;;) {
    const spinUntil = performance.now() + ${WORKER_SPIN_MS};
    let s;
    while ((s = Atomics.load(ctl, ${SEQ})) === last) {
      if (performance.now() > spinUntil) Atomics.wait(ctl, ${SEQ}, last);
    }
    last = s;
    if (Atomics.compareExchange(ctl, ${STATE}, s, -s) !== s) continue;
    const op = ctl[${OP}];
    if (op === ${OP_EXIT}) break;
    const chunks = ctl[${CHUNKS}];
    const size = ctl[${CHUNK}];
    let runChunk;
    if (op === ${OP_CALL}) {
      const kernel = KERNELS[ctl[${FN}]];
      const args = fargs.slice(0, ctl[${NARGS}]);
      const f = k[kernel.name];
      runChunk = (i) => f(...callChunkArgs(args, kernel, size, i));
    } else {
      const args = ctl.slice(${ARGS}, ${ARGS + 11});
      const call = op === ${OP_GEMM} ? e.gemm : e.gemmBatched;
      const axis = ctl[${AXIS}];
      runChunk = (i) => call(ws, ...chunkArgs(args, axis, size, i));
    }
    let ran = 0;
    try {
      for (let i = Atomics.add(ctl, ${NEXT}, 1); i < chunks; i = Atomics.add(ctl, ${NEXT}, 1)) {
        runChunk(i);
        ran++;
      }
    } catch {
      Atomics.store(ctl, ${FAILED}, 1);
    }
    ctl[${WORKER_CHUNKS}] = ran;
    Atomics.store(ctl, ${DONE}, s);
    Atomics.notify(ctl, ${DONE});
  }
}
`;

// CommonJS, evaluated by the worker_thread (no file path to resolve from src/ or dist/)
const NODE_WORKER_SOURCE = `${WORKER_LOOP}\nrun(require('node:worker_threads').workerData);\n`;
// a classic dedicated Worker: the first message carries the module, the memory and the control block
const BROWSER_WORKER_SOURCE = `${WORKER_LOOP}\nself.onmessage = (ev) => { self.onmessage = null; run(ev.data); };\n`;

/** Where the GEMM's second thread stands: how many threads run now, and why not more. */
export interface GemmThreadInfo {
  /** threads asked for */
  readonly requested: 1 | 2;
  /** threads that run products now: 2 only once the worker has started */
  readonly running: 1 | 2;
  /** 'single': 1 was asked for; 'starting': the worker is loading; 'running'; 'unavailable' or 'failed': 1 thread */
  readonly state: 'single' | 'starting' | 'running' | 'unavailable' | 'failed';
  /** why fewer threads run than were asked for ('' when none are missing) */
  readonly why: string;
}

export interface GemmWorker {
  /** true once the worker has instantiated the module (read from shared memory, so no event-loop turn is needed) */
  readonly ready: boolean;
  /** why the worker cannot run jobs (it failed to start or died), or null */
  readonly failure: string | null;
  /**
   * Posts `args` (11 ints for gemm/gemmBatched after the workspace; for OP_CALL the kernel's arguments, `fn` its
   * index in PARALLEL_KERNELS) cut by `plan` to the worker, then takes chunks on this thread (`runChunk(i)`) until
   * none are left and waits for the worker's last chunk.
   *
   * @returns How many chunks the worker ran (0 when it did not wake up in time).
   */
  split(op: number, args: readonly number[], plan: ChunkPlan, runChunk: (i: number) => void, fn?: number): number;
  close(): void;
}

type WorkerThreads = typeof import('node:worker_threads');

function workerThreads(): WorkerThreads | undefined {
  // synchronous and bundler-neutral; absent outside Node (>= 20.16), where the browser path is tried
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;
}

// The slice of the web Worker API used here, typed locally (the package compiles without lib.dom).
interface WebWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  addEventListener(type: 'error' | 'messageerror', listener: (ev: { message?: string }) => void): void;
}
interface WebGlobals {
  Worker?: new (url: string, options?: { name?: string }) => WebWorker;
  Blob?: new (parts: string[], options: { type: string }) => object;
  URL?: { createObjectURL?(blob: object): string; revokeObjectURL?(url: string): void };
  crossOriginIsolated?: boolean;
}

/** Whether this thread may block in Atomics.wait (a browser page's main thread may not; workers and Node may). */
function canAtomicsWait(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

interface Host {
  /** stops the worker at once (after OP_EXIT, or when it failed) */
  terminate(): void;
}

/** Starts the host's worker on `data`; returns it, or the reason no worker can run here. */
function startHostWorker(
  data: { gemmModule: object; kernelModule: object; memory: object; ctlBuffer: SharedArrayBuffer; ws: number },
  onDead: (why: string) => void,
): Host | string {
  const wt = workerThreads();
  if (wt) {
    let worker: NodeWorker;
    try {
      worker = new wt.Worker(NODE_WORKER_SOURCE, { eval: true, workerData: data });
    } catch (e) {
      return `worker_threads could not start a worker: ${(e as Error).message}`;
    }
    worker.unref(); // never keeps the process alive
    worker.once('error', (e) => onDead(`the GEMM worker failed: ${e.message}`));
    worker.once('exit', () => onDead('the GEMM worker exited'));
    return { terminate: () => void worker.terminate() };
  }
  const web = globalThis as WebGlobals;
  if (typeof web.Worker !== 'function' || typeof web.Blob !== 'function' || !web.URL?.createObjectURL) {
    return 'this runtime has neither worker_threads nor web Workers';
  }
  if (web.crossOriginIsolated === false) {
    return 'the page is not cross-origin isolated (serve it with COOP: same-origin and COEP: require-corp)';
  }
  let url: string | undefined;
  let worker: WebWorker;
  try {
    url = web.URL.createObjectURL(new web.Blob([BROWSER_WORKER_SOURCE], { type: 'text/javascript' }));
    worker = new web.Worker(url, { name: 'tinyformer-gemm' });
    worker.addEventListener('error', (ev) => onDead(`the GEMM worker failed: ${ev.message ?? 'error event'}`));
    worker.addEventListener('messageerror', () => onDead('the GEMM worker could not receive the wasm memory'));
    // a Module and a shared Memory are cloneable only inside one agent cluster (a cross-origin isolated page)
    worker.postMessage(data);
  } catch (e) {
    return `a web Worker could not be started: ${(e as Error).message}`;
  } finally {
    // the worker has fetched its script by now or never will; revoking early could race the fetch, so wait a turn
    if (url !== undefined) setTimeout(() => web.URL?.revokeObjectURL?.(url as string), 10_000);
  }
  return { terminate: () => worker.terminate() };
}

/**
 * Starts the worker on `memory` (shared) with its own packing workspace at `ws`. Returns the worker (it becomes
 * `ready` asynchronously), or the reason no worker can run here.
 */
export function startGemmWorker(
  modules: { gemmModule: object; kernelModule: object },
  memory: object,
  ws: number,
): GemmWorker | string {
  if (typeof SharedArrayBuffer !== 'function') {
    return 'SharedArrayBuffer is unavailable (in a browser: the page is not cross-origin isolated)';
  }
  const ctlBuffer = new SharedArrayBuffer(FARGS_BYTE + MAX_FARGS * 8);
  const ctl = new Int32Array(ctlBuffer, 0, CTL_INTS);
  const fargs = new Float64Array(ctlBuffer, FARGS_BYTE, MAX_FARGS);
  let failure: string | null = null;
  let alive = true;
  // only the two modules: a KernelInstance also holds exports, which cannot be cloned into a worker
  const { gemmModule, kernelModule } = modules;
  const host = startHostWorker({ gemmModule, kernelModule, memory, ctlBuffer, ws }, (why) => {
    if (alive) failure ??= why;
    alive = false;
  });
  if (typeof host === 'string') return host;
  // a browser page's main thread must not block: it spins for the worker's half instead
  const mayWait = canAtomicsWait();
  let seq = 0;

  const post = (op: number, args: readonly number[], plan?: ChunkPlan, fn = 0): number => {
    if (op === OP_CALL) {
      fargs.set(args);
      ctl[FN] = fn;
      ctl[NARGS] = args.length;
    } else {
      for (let i = 0; i < args.length; i++) ctl[ARGS + i] = args[i]!;
    }
    ctl[OP] = op;
    ctl[AXIS] = plan?.axis ?? 0;
    ctl[CHUNK] = plan?.size ?? 0;
    ctl[CHUNKS] = plan?.chunks ?? 0;
    ctl[WORKER_CHUNKS] = 0;
    Atomics.store(ctl, NEXT, 0);
    seq = seq >= 0x3fffffff ? 1 : seq + 1;
    Atomics.store(ctl, STATE, seq);
    Atomics.store(ctl, SEQ, seq);
    Atomics.notify(ctl, SEQ, 1);
    return seq;
  };

  return {
    get ready() {
      return alive && Atomics.load(ctl, READY) === 1;
    },
    get failure() {
      if (failure === null && Atomics.load(ctl, READY) === -1) {
        failure = 'the GEMM worker could not instantiate the wasm module on the shared memory';
        alive = false;
        host.terminate();
      }
      return failure;
    },
    split(op, args, plan, runChunk, fn = 0) {
      const s = post(op, args, plan, fn);
      for (let i = Atomics.add(ctl, NEXT, 1); i < plan.chunks; i = Atomics.add(ctl, NEXT, 1)) runChunk(i);
      // the worker never woke up: this thread ran every chunk
      if (Atomics.compareExchange(ctl, STATE, s, 0) === s) return 0;
      const spinUntil = performance.now() + MAIN_SPIN_MS;
      let d: number;
      while ((d = Atomics.load(ctl, DONE)) !== s) {
        if (mayWait && performance.now() > spinUntil) Atomics.wait(ctl, DONE, d);
      }
      if (Atomics.exchange(ctl, FAILED, 0) !== 0) {
        alive = false;
        failure = 'the GEMM worker failed its half of a matmul';
        throw new Error('the wasm gemm worker failed its half of a matmul');
      }
      return ctl[WORKER_CHUNKS]!;
    },
    close() {
      if (!alive) return;
      alive = false;
      failure ??= 'closed';
      post(OP_EXIT, []);
      host.terminate();
    },
  };
}
