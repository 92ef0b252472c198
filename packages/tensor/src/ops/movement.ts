import { ShapeError, TensorError } from '../errors.js';
import { broadcastShapes, formatShape, normalizeAxis, type Shape, sameShape, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { full } from './creation.js';
import { add } from './elementwise.js';
import { backendOf, composite, record, wrap } from './internal.js';

/**
 * Same data under a new shape (no copy; one dim may be -1 and is inferred).
 *
 * @param x - The input.
 * @param shape - The new shape, with the same number of elements.
 * @returns The view.
 * @throws {@link ShapeError} when the sizes differ or more than one dim is -1.
 */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const op = 'reshape';
  backendOf(op, x);
  const dims = [...shape];
  const unknown = dims.indexOf(-1);
  if (unknown >= 0) {
    if (dims.indexOf(-1, unknown + 1) >= 0)
      throw new ShapeError(op, `only one dim may be -1, got ${formatShape(shape)}`);
    const known = sizeOf(dims.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError(op, `cannot reshape ${formatShape(x.shape)} (${x.size} elements) to ${formatShape(shape)}`);
    }
    dims[unknown] = x.size / known;
  }
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(op, `invalid target shape ${formatShape(shape)}`);
  }
  if (sizeOf(dims) !== x.size) {
    throw new ShapeError(op, `cannot reshape ${formatShape(x.shape)} (${x.size} elements) to ${formatShape(dims)}`);
  }
  if (sameShape(dims, x.shape)) return x;
  const out = x.view(dims);
  return record(op, [x], out, { from: x.shape });
}

/**
 * Materialized permutation of the axes.
 *
 * @param x - The input.
 * @param perm - Output axis i is input axis perm[i].
 * @returns The permuted copy.
 * @throws {@link ShapeError} when perm is not a permutation of x's axes.
 */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const op = 'permute';
  const backend = backendOf(op, x);
  if (perm.length !== x.rank) {
    throw new ShapeError(
      op,
      `permutation [${perm.join(',')}] has ${perm.length} axes but the tensor ${formatShape(x.shape)} has ${x.rank}`,
    );
  }
  const norm = perm.map((p) => normalizeAxis(op, p, x.rank));
  if (new Set(norm).size !== norm.length) throw new ShapeError(op, `[${perm.join(',')}] is not a permutation`);
  const outShape = norm.map((p) => x.shape[p]!);
  if (norm.every((p, i) => p === i)) return x;
  const out = wrap(backend, backend.permute(x.storage, x.shape, norm), outShape, x.dtype);
  return record(op, [x], out, { perm: norm });
}

/**
 * Swaps two axes (default: the last two), materialized.
 *
 * @param x - The input.
 * @param dim0 - An axis (default -2).
 * @param dim1 - Another axis (default -1).
 * @returns The transposed copy.
 */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  if (x.rank < 2) throw new ShapeError('transpose', `needs rank >= 2, got ${formatShape(x.shape)}`);
  const a = normalizeAxis('transpose', dim0, x.rank);
  const b = normalizeAxis('transpose', dim1, x.rank);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/**
 * The box starting at `begin` with `size` (-1 = to the end), materialized.
 *
 * @param x - The input.
 * @param begin - The box's first index per axis.
 * @param size - The box's size per axis (-1 or omitted: to the end).
 * @returns The box's values.
 * @throws {@link ShapeError} when the box does not fit in x.
 */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  const op = 'slice';
  const backend = backendOf(op, x);
  if (begin.length > x.rank)
    throw new ShapeError(op, `begin [${begin.join(',')}] has more dims than ${formatShape(x.shape)}`);
  const b = x.shape.map((_, i) => begin[i] ?? 0);
  const s = x.shape.map((d, i) => {
    const v = size?.[i] ?? -1;
    return v === -1 ? d - b[i]! : v;
  });
  for (let i = 0; i < x.rank; i++) {
    if (!Number.isInteger(b[i]) || !Number.isInteger(s[i]) || b[i]! < 0 || s[i]! < 0 || b[i]! + s[i]! > x.shape[i]!) {
      throw new ShapeError(
        op,
        `box begin [${b.join(',')}] size [${s.join(',')}] does not fit ${formatShape(x.shape)} (dim ${i})`,
      );
    }
  }
  if (sameShape(s, x.shape)) return x;
  const out = wrap(backend, backend.slice(x.storage, x.shape, b, s), s, x.dtype);
  return record(op, [x], out, { begin: b, inShape: x.shape });
}

/**
 * Zero padding that places x at `begin` inside `outShape` (slice's adjoint).
 *
 * @param x - The input.
 * @param begin - Where x goes, per axis.
 * @param outShape - The output's shape.
 * @returns The padded tensor.
 */
export function padTo(x: Tensor, begin: readonly number[], outShape: Shape): Tensor {
  const op = 'pad';
  const backend = backendOf(op, x);
  if (begin.length !== x.rank || outShape.length !== x.rank) {
    throw new ShapeError(op, `begin and outShape must have rank ${x.rank}`);
  }
  for (let i = 0; i < x.rank; i++) {
    if (begin[i]! < 0 || begin[i]! + x.shape[i]! > outShape[i]!) {
      throw new ShapeError(op, `${formatShape(x.shape)} at [${begin.join(',')}] does not fit ${formatShape(outShape)}`);
    }
  }
  const out = wrap(backend, backend.pad(x.storage, x.shape, begin, outShape), outShape, x.dtype);
  return record(op, [x], out, { begin });
}

/**
 * Joins tensors along an axis; all other dims must agree.
 *
 * @param xs - The tensors.
 * @param axis - The axis (default 0).
 * @returns The joined tensor.
 * @throws {@link ShapeError} when the other dims differ.
 */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  const op = 'concat';
  if (xs.length === 0) throw new TensorError(op, 'needs at least one tensor');
  const backend = backendOf(op, ...xs);
  const first = xs[0]!;
  const ax = normalizeAxis(op, axis, first.rank);
  for (const t of xs) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new ShapeError(op, `shapes ${xs.map((u) => formatShape(u.shape)).join(', ')} differ outside axis ${ax}`);
    }
  }
  if (xs.length === 1) return first;
  const outShape = [...first.shape];
  outShape[ax] = xs.reduce((acc, t) => acc + t.shape[ax]!, 0);
  const out = wrap(
    backend,
    backend.concat(
      xs.map((t) => t.storage),
      xs.map((t) => t.shape),
      ax,
    ),
    outShape,
    first.dtype,
  );
  return record(op, xs, out, { axis: ax, sizes: xs.map((t) => t.shape[ax]!) });
}

/**
 * Splits along an axis into `sections` equal parts or parts of the given sizes.
 *
 * @param x - The input.
 * @param sections - A number of equal parts, or the parts' sizes.
 * @param axis - The axis (default 0).
 * @returns The parts.
 * @throws {@link ShapeError} when the axis does not divide evenly or the sizes do not add up.
 */
export function split(x: Tensor, sections: number | readonly number[], axis = 0): Tensor[] {
  const op = 'split';
  const ax = normalizeAxis(op, axis, x.rank);
  const len = x.shape[ax]!;
  let sizes: number[];
  if (typeof sections === 'number') {
    if (!Number.isInteger(sections) || sections <= 0 || len % sections !== 0) {
      throw new ShapeError(
        op,
        `axis ${ax} of ${formatShape(x.shape)} (length ${len}) does not split into ${sections} equal parts`,
      );
    }
    sizes = new Array(sections).fill(len / sections);
  } else {
    sizes = [...sections];
    if (sizes.reduce((a, b) => a + b, 0) !== len || sizes.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new ShapeError(
        op,
        `sizes [${sizes.join(',')}] do not add up to ${len} (axis ${ax} of ${formatShape(x.shape)})`,
      );
    }
  }
  const parts: Tensor[] = [];
  let offset = 0;
  for (const s of sizes) {
    const begin = x.shape.map((_, i) => (i === ax ? offset : 0));
    const size = x.shape.map((d, i) => (i === ax ? s : d));
    parts.push(slice(x, begin, size));
    offset += s;
  }
  return parts;
}

/**
 * Broadcasts to a larger shape (materialized, differentiable).
 *
 * @param x - The input.
 * @param shape - The target shape.
 * @returns The broadcast copy.
 * @throws {@link ShapeError} when x does not broadcast to shape.
 */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const target = broadcastShapes('broadcastTo', x.shape, shape);
  if (!sameShape(target, shape)) {
    throw new ShapeError('broadcastTo', `${formatShape(x.shape)} does not broadcast to ${formatShape(shape)}`);
  }
  if (sameShape(x.shape, shape)) return x;
  return composite([x], () => add(x, full(shape, 0, { backend: x.backend })));
}

/**
 * Inserts an axis of length 1.
 *
 * @param x - The input.
 * @param axis - Where the new axis goes (negative counts from the end of the result).
 * @returns The view.
 */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const ax = normalizeAxis('unsqueeze', axis, x.rank + 1);
  const shape = [...x.shape];
  shape.splice(ax, 0, 1);
  return reshape(x, shape);
}

/**
 * Removes axes of length 1.
 *
 * @param x - The input.
 * @param axis - The axis to remove (default: every axis of length 1).
 * @returns The view.
 * @throws {@link ShapeError} when the given axis does not have length 1.
 */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const ax = normalizeAxis('squeeze', axis, x.rank);
  if (x.shape[ax] !== 1)
    throw new ShapeError('squeeze', `axis ${ax} of ${formatShape(x.shape)} has size ${x.shape[ax]}, not 1`);
  return reshape(
    x,
    x.shape.filter((_, i) => i !== ax),
  );
}
