// A profile of where a training step's time goes, for the bench's `--profile`: every registered op's forward (kernel
// or composite) and every backend primitive (matmul, unary by op, binary by op, reduce, AdamW, ...) is timed, each
// exclusive of the calls nested inside it, so the shares add up to the step (the rest is JS outside any op: autograd
// bookkeeping, the trainer). The CPU backend is synchronous, so wall time around a call is that call's time.
import { type Backend, type MatmulParams, registeredOps } from '@tinyformer/tensor';

/** e.g. '48x256x64x256 B^T' (batch first when > 1) */
function matmulShape(p: MatmulParams): string {
  const t = `${p.transA ? ' A^T' : ''}${p.transB ? ' B^T' : ''}`;
  return `${p.batch > 1 ? `${p.batch}x` : ''}${p.M}x${p.K}x${p.N}${t}`;
}

/** Accumulated exclusive time and calls per label. */
export interface OpProfile {
  /** label -> [ms, calls] */
  readonly entries: Map<string, [number, number]>;
  /** stops timing and restores the wrapped methods */
  stop(): void;
}

// backend methods that are storage plumbing rather than compute, left untimed
const UNTIMED = new Set(['alloc', 'array', 'inArena', 'readValues', 'memory', 'kernelEnabled', 'scratch']);
// primitives whose first argument names the operation: labelled 'unary exp', 'binary mul', 'reduce sum'
const BY_FIRST_ARG = new Set(['unary', 'binary', 'reduce']);

/**
 * Starts profiling every op and every compute method of `backend` until `stop()`.
 *
 * @param backend - The backend the step runs on.
 * @param opts - matmulByShape: one row per matmul shape (batch x M x K x N, transposes) instead of one for all.
 * @returns The live profile.
 */
export function startOpProfile(backend: Backend, opts: { matmulByShape?: boolean } = {}): OpProfile {
  const byShape = opts.matmulByShape ?? false;
  const entries = new Map<string, [number, number]>();
  // the clock of the innermost running call: entering a nested call charges the elapsed time to its parent
  const stack: string[] = [];
  let last = performance.now();
  const charge = (now: number) => {
    const top = stack[stack.length - 1];
    if (top !== undefined) {
      const e = entries.get(top) ?? [0, 0];
      e[0] += now - last;
      entries.set(top, e);
    }
    last = now;
  };
  const timed =
    (label: (args: unknown[]) => string, f: (...args: unknown[]) => unknown, self: unknown) =>
    (...args: unknown[]) => {
      const name = label(args);
      charge(performance.now());
      stack.push(name);
      const e = entries.get(name) ?? [0, 0];
      e[1]++;
      entries.set(name, e);
      try {
        return f.apply(self, args);
      } finally {
        charge(performance.now());
        stack.pop();
      }
    };

  const restore: (() => void)[] = [];
  for (const op of registeredOps()) {
    const own = Object.getOwnPropertyDescriptor(op, 'forward');
    const forward = op.forward;
    (op as { forward: unknown }).forward = timed(() => op.name, forward as (...a: unknown[]) => unknown, op);
    restore.push(() => {
      if (own) Object.defineProperty(op, 'forward', own);
      else delete (op as { forward?: unknown }).forward;
    });
  }
  const target = backend as unknown as Record<string, unknown>;
  let proto = Object.getPrototypeOf(backend) as object | null;
  const names = new Set<string>();
  while (proto && proto !== Object.prototype) {
    for (const k of Object.getOwnPropertyNames(proto)) names.add(k);
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  for (const k of names) {
    const f = target[k];
    if (k === 'constructor' || UNTIMED.has(k) || typeof f !== 'function') continue;
    const label = BY_FIRST_ARG.has(k)
      ? (a: unknown[]) => `${k} ${String(a[0])}`
      : k === 'matmul' && byShape
        ? (a: unknown[]) => `matmul ${matmulShape(a[2] as MatmulParams)}`
        : () => k;
    target[k] = timed(label, f as (...a: unknown[]) => unknown, backend);
    restore.push(() => {
      delete target[k];
    });
  }
  return {
    entries,
    stop: () => {
      for (const r of restore.reverse()) r();
    },
  };
}

/**
 * The profile as table lines, largest share first: label, ms per step, share of the step, calls per step.
 *
 * @param p - The profile.
 * @param steps - Steps profiled.
 * @param stepMs - Total wall time of those steps.
 * @returns The lines.
 */
export function formatOpProfile(p: OpProfile, steps: number, stepMs: number): string[] {
  const rows = [...p.entries].sort((a, b) => b[1][0] - a[1][0]);
  const inOps = rows.reduce((s, [, [ms]]) => s + ms, 0);
  const line = (label: string, ms: number, calls: string) =>
    `  ${label.padEnd(28)} ${(ms / steps).toFixed(2).padStart(9)} ms ${((100 * ms) / stepMs).toFixed(1).padStart(6)}%  ${calls}`;
  return [
    `  ${'op (exclusive time)'.padEnd(28)} ${'per step'.padStart(12)} ${'share'.padStart(7)}  calls/step`,
    ...rows.map(([label, [ms, calls]]) => line(label, ms, (calls / steps).toFixed(0))),
    line('(outside any op)', stepMs - inOps, ''),
  ];
}
