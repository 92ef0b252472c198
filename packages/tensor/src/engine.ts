import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/cpu-backend.js';
import type { RecordedOp } from './registry/op.js';
import type { PrimitiveAttrs, PrimitiveName } from './registry/primitives.js';
import type { Tensor } from './tensor.js';

/**
 * Process-wide state: the default backend, the tidy scopes and the autograd hook.
 * The backend is chosen explicitly (setBackend) or defaults to the CPU backend on first use; there is no
 * async initialisation to await.
 */
let current: Backend | null = null;

/**
 * Sets the default backend: where creation functions put new tensors when no `backend` option is given.
 *
 * @param backend - The backend (CpuBackend, GpuBackend, or any Backend implementation).
 *
 * @example
 * ```ts
 * setBackend(new CpuBackend({ threads: 2 }));
 * getBackend().name; // 'cpu'
 * const x = zeros([2, 3]); // on that backend
 * ```
 */
export function setBackend(backend: Backend): void {
  current = backend;
}

/**
 * The default backend; a new CpuBackend on first use when none was set.
 *
 * @returns The default backend.
 *
 * @example
 * ```ts
 * const b = getBackend();
 * if (!b.synchronous) console.log('read values with await t.data()');
 * ```
 */
export function getBackend(): Backend {
  if (!current) current = new CpuBackend();
  return current;
}

/**
 * Autograd lives in its own package and plugs in here: when `record` is set and an input requires grad,
 * every op reports itself so the tape can build the graph. `enabled` is flipped by noGrad().
 */
export interface AutogradHooks {
  /** a primitive op (add, matmul, reshape...): its rule is found by name, with attributes typed per name */
  record:
    | (<K extends PrimitiveName>(op: K, inputs: readonly Tensor[], output: Tensor, attrs: PrimitiveAttrs[K]) => void)
    | null;
  /** a registry op (defineOp): one node for all its outputs, backward from its definition */
  recordOp:
    | ((
        op: RecordedOp,
        inputs: readonly Tensor[],
        outputs: readonly Tensor[],
        attrs: unknown,
        saved: readonly Tensor[],
      ) => void)
    | null;
  /** false inside noGrad(): no op is recorded */
  enabled: boolean;
}

/** The single hook object @tinyformer/autograd installs itself into. */
export const autogradHooks: AutogradHooks = { record: null, recordOp: null, enabled: true };

// ---- tidy scopes -------------------------------------------------------------------------------------------------

const scopes: Tensor[][] = [];

/** Called by every new Tensor. */
export function track(t: Tensor): void {
  const top = scopes[scopes.length - 1];
  if (top) top.push(t);
}

/**
 * Runs fn and disposes every tensor created inside it, except the ones it returns (anywhere inside arrays or
 * plain objects) and the ones marked with keep(). Returned tensors created inside move to the enclosing scope.
 *
 * @param fn - The work; may return tensors (anywhere inside arrays or plain objects).
 * @returns What fn returns.
 *
 * @example
 * ```ts
 * const loss = tidy(() => model.loss(x, y)); // every intermediate is freed; loss survives
 * ```
 */
export function tidy<T>(fn: () => T): T {
  scopes.push([]);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    disposeScope(scopes.pop()!, new Set());
    throw e;
  }
  const keepSet = new Set<Tensor>();
  collectTensors(result, keepSet, 0);
  const scope = scopes.pop()!;
  disposeScope(scope, keepSet);
  const parent = scopes[scopes.length - 1];
  if (parent) {
    // only tensors this scope owned move up: one created outside it (returned as is) stays with its own scope
    const owned = new Set(scope);
    for (const t of keepSet) if (owned.has(t)) parent.push(t);
  }
  return result;
}

function disposeScope(scope: Tensor[], keepSet: Set<Tensor>): void {
  for (const t of scope) {
    if (!keepSet.has(t) && !t.kept && !t.isDisposed) t.dispose();
  }
}

function collectTensors(v: unknown, out: Set<Tensor>, depth: number): void {
  if (v === null || typeof v !== 'object' || depth > 4) return;
  if ((v as { __isTensor?: boolean }).__isTensor) {
    out.add(v as Tensor);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) collectTensors(x, out, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) collectTensors(x, out, depth + 1);
  }
}
