import type { Backend, Storage } from '../backend.js';
import { autogradHooks, getBackend, tidy } from '../engine.js';
import { TensorError } from '../errors.js';
import type { PrimitiveAttrs, PrimitiveName } from '../registry/primitives.js';
import { formatShape } from '../shape.js';
import { type DType, Tensor } from '../tensor.js';

/** Anything an op accepts where a tensor goes: numbers become scalars on the other operand's backend. */
export type TensorLike = Tensor | number;

/**
 * The backend an op on these inputs runs on: that of its tensor inputs, or the default backend when there are none.
 *
 * @param op - The op's name, for errors.
 * @param ts - The inputs (numbers are ignored).
 * @returns The backend.
 * @throws {@link TensorError} when an input was disposed or the inputs live on different backends.
 */
export function backendOf(op: string, ...ts: TensorLike[]): Backend {
  let b: Backend | null = null;
  for (const t of ts) {
    if (!(t instanceof Tensor)) continue;
    if (t.isDisposed) throw new TensorError(op, `input ${t.describe()} was used after dispose()`);
    if (b && t.backend !== b) {
      throw new TensorError(op, `inputs live on different backends ('${b.name}' and '${t.backend.name}')`);
    }
    b = t.backend;
  }
  return b ?? getBackend();
}

export function toTensor(op: string, x: TensorLike, backend: Backend): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== 'number') throw new TensorError(op, `expected a Tensor or a number, got ${typeof x}`);
  return new Tensor(backend, backend.fill(1, x), []);
}

export function wrap(backend: Backend, storage: Storage, shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return new Tensor(backend, storage, shape, dtype);
}

/** Reports a primitive op to autograd when any input requires grad (and grad mode is on). Internal. */
export function record<K extends PrimitiveName>(
  op: K,
  inputs: readonly Tensor[],
  output: Tensor,
  attrs: PrimitiveAttrs[K],
): Tensor {
  const hook = autogradHooks.record;
  if (hook && autogradHooks.enabled) {
    for (const t of inputs) {
      if (t.requiresGrad) {
        hook(op, inputs, output, attrs);
        break;
      }
    }
  }
  return output;
}

/** True when autograd will record an op on these inputs (the hook is installed, grad mode is on, one requires grad). */
export function willRecord(inputs: readonly TensorLike[]): boolean {
  if (!autogradHooks.record || !autogradHooks.enabled) return false;
  return inputs.some((t) => t instanceof Tensor && t.requiresGrad);
}

/**
 * Runs the body of an op that makes intermediates (scalars from numbers, broadcast copies, the steps of a
 * composite). When autograd will not record it, nothing but the result outlives the call, even outside tidy();
 * when it will, the intermediates belong to the graph and the caller's tidy() frees them after backward.
 */
export function composite<T>(inputs: readonly TensorLike[], fn: () => T): T {
  return willRecord(inputs) ? fn() : tidy(fn);
}

export function requireFloat(op: string, t: Tensor, what = 'input'): void {
  if (t.dtype !== 'float32') throw new TensorError(op, `${what} ${t.describe()} must be float32, got ${t.dtype}`);
}

export function requireRank(op: string, t: Tensor, min: number, what = 'input'): void {
  if (t.rank < min) throw new TensorError(op, `${what} must have rank >= ${min}, got ${formatShape(t.shape)}`);
}
