// One persistent worker_thread that runs half of a GEMM over the shared wasm memory (docs/cpu-simd.md §3).
// Jobs are posted through an Int32Array control block: args, then STATE = seq, then SEQ = seq + notify.
// The worker claims a job with CAS(STATE, seq -> -seq); the main thread, once its own half is done, tries
// CAS(STATE, seq -> 0) and, if the worker never woke up, runs the other half itself instead of waiting.
import type { Worker as NodeWorker } from 'node:worker_threads';

const SEQ = 0;
const DONE = 1;
const STATE = 2;
const OP = 3;
const READY = 4;
const FAILED = 5;
const ARGS = 8;
const CTL_INTS = 32;

export const OP_GEMM = 1;
export const OP_BATCHED = 2;
const OP_EXIT = 3;

/** the worker spins this long after a job before it sleeps in Atomics.wait (the next matmul often follows) */
const WORKER_SPIN_MS = 0.1;
/** the main thread spins this long for the worker's half before it sleeps */
const MAIN_SPIN_MS = 0.3;

// CommonJS, evaluated by the worker (no file path to resolve from src/ or dist/)
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { wasmModule, memory, ctlBuffer, ws } = workerData;
const ctl = new Int32Array(ctlBuffer);
const e = new WebAssembly.Instance(wasmModule, { env: { memory } }).exports;
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
  const a = ctl.subarray(${ARGS}, ${ARGS + 11});
  try {
    if (op === ${OP_GEMM}) e.gemm(ws, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
    else e.gemmBatched(ws, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
  } catch {
    Atomics.store(ctl, ${FAILED}, 1);
  }
  Atomics.store(ctl, ${DONE}, s);
  Atomics.notify(ctl, ${DONE});
}
`;

export interface GemmWorker {
  /** true once the worker has instantiated the module (read from shared memory, so no event-loop turn is needed) */
  readonly ready: boolean;
  /**
   * Posts `args` (11 ints for gemm/gemmBatched after the workspace) to the worker, runs `mainPart`, then waits for
   * the worker, or runs `workerPart` itself when the worker has not claimed the job. Returns true if the worker ran it.
   */
  split(op: number, args: readonly number[], mainPart: () => void, workerPart: () => void): boolean;
  close(): void;
}

type WorkerThreads = typeof import('node:worker_threads');

function workerThreads(): WorkerThreads | undefined {
  // synchronous and bundler-neutral; absent outside Node (>= 20.16), where threads fall back to one
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;
}

/** Starts the worker on `memory` (shared) with its own packing workspace at `ws`; null where workers are unavailable. */
export function startGemmWorker(wasmModule: object, memory: object, ws: number): GemmWorker | null {
  const wt = workerThreads();
  if (!wt) return null;
  const ctlBuffer = new SharedArrayBuffer(CTL_INTS * 4);
  const ctl = new Int32Array(ctlBuffer);
  let worker: NodeWorker;
  try {
    worker = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: { wasmModule, memory, ctlBuffer, ws } });
  } catch {
    return null;
  }
  worker.unref(); // never keeps the process alive
  let alive = true;
  let seq = 0;
  const dead = () => {
    alive = false;
  };
  worker.once('error', dead);
  worker.once('exit', dead);

  const post = (op: number, args: readonly number[]): number => {
    for (let i = 0; i < args.length; i++) ctl[ARGS + i] = args[i]!;
    ctl[OP] = op;
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
    split(op, args, mainPart, workerPart) {
      const s = post(op, args);
      mainPart();
      if (Atomics.compareExchange(ctl, STATE, s, 0) === s) {
        workerPart();
        return false;
      }
      const spinUntil = performance.now() + MAIN_SPIN_MS;
      let d: number;
      while ((d = Atomics.load(ctl, DONE)) !== s) {
        if (performance.now() > spinUntil) Atomics.wait(ctl, DONE, d);
      }
      if (Atomics.exchange(ctl, FAILED, 0) !== 0) {
        alive = false;
        throw new Error('the wasm gemm worker failed its half of a matmul');
      }
      return true;
    },
    close() {
      if (!alive) return;
      alive = false;
      post(OP_EXIT, []);
    },
  };
}
