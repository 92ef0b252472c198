import { ShapeError } from './errors.js';

/** A tensor's shape: one length per axis ([] for a scalar). */
export type Shape = readonly number[];

/**
 * @param shape - A shape.
 * @returns It as text, e.g. `[2,3]`.
 */
export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/**
 * @param shape - A shape.
 * @returns The number of elements (1 for a scalar).
 */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * @param shape - A shape.
 * @returns The row-major strides, in elements.
 */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/**
 * @param a - A shape.
 * @param b - Another shape.
 * @returns Whether they are equal.
 */
export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new ShapeError(op, `invalid shape ${formatShape(shape)}: dims must be integers >= 0`);
  }
}

/**
 * NumPy broadcasting: align right; each pair of dims must be equal or one of them 1.
 *
 * @param op - The op's name, for errors.
 * @param a - A shape.
 * @param b - Another shape.
 * @returns The broadcast shape.
 * @throws {@link ShapeError} when the shapes do not broadcast.
 */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        op,
        `${formatShape(a)} and ${formatShape(b)} do not broadcast: dim ${i} is ${da} vs ${db} (each pair must be equal or 1)`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Resolves a possibly negative axis against a rank; throws naming the op.
 *
 * @param op - The op's name, for errors.
 * @param axis - The axis (negative counts from the end).
 * @param rank - The tensor's rank.
 * @returns The axis in [0, rank).
 * @throws {@link ShapeError} when the axis is out of range.
 */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ShapeError(op, `axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Splits a shape around one axis into (outer, len, inner) for axis-wise kernels.
 *
 * @param shape - A shape.
 * @param axis - A (normalized) axis.
 * @returns The product of the axes before it, its length, the product of the axes after it.
 */
export function axisSplit(shape: Shape, axis: number): { outer: number; len: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return { outer, len: shape[axis]!, inner };
}
