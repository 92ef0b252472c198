import type { BinaryOp, UnaryOp } from '../backend.js';
import { ShapeError } from '../errors.js';
import { defineOp, type Op } from '../registry/op.js';
import { broadcastShapes, sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf, composite, record, type TensorLike, toTensor, willRecord, wrap } from './internal.js';

/**
 * Elementwise binary op with NumPy broadcasting; numbers are scalars.
 *
 * @param op - The op.
 * @param a - A tensor or a number.
 * @param b - A tensor or a number.
 * @returns The result, in the broadcast shape.
 * @throws {@link ShapeError} when the shapes do not broadcast.
 */
export function binary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const backend = backendOf(op, a, b);
  const run = () => {
    const ta = toTensor(op, a, backend);
    const tb = toTensor(op, b, backend);
    const outShape = broadcastShapes(op, ta.shape, tb.shape);
    const out = wrap(backend, backend.binary(op, ta.storage, ta.shape, tb.storage, tb.shape, outShape), outShape);
    return record(op, [ta, tb], out, {});
  };
  // a number becomes a scalar tensor that only the op (and its backward rule) uses
  return typeof a === 'number' || typeof b === 'number' ? composite([a, b], run) : run();
}

/** Elementwise a + b, NumPy broadcasting; numbers are scalars (see binary). */
export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b);
/** Elementwise a - b, NumPy broadcasting; numbers are scalars (see binary). */
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
/** Elementwise a * b, NumPy broadcasting; numbers are scalars (see binary). */
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
/** Elementwise a / b, NumPy broadcasting; numbers are scalars (see binary). */
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
/** Elementwise a ** b, NumPy broadcasting; numbers are scalars (see binary). */
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', a, b);
/** Elementwise the larger of a and b, NumPy broadcasting; numbers are scalars (see binary). */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b);
/** Elementwise the smaller of a and b, NumPy broadcasting; numbers are scalars (see binary). */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b);
/** 1 where a == b else 0 (not differentiable) */
export const eq = (a: TensorLike, b: TensorLike): Tensor => binary('eq', a, b);
/** 1 where a > b else 0 (not differentiable) */
export const gt = (a: TensorLike, b: TensorLike): Tensor => binary('gt', a, b);

/**
 * Elementwise unary op.
 *
 * @param op - The op.
 * @param x - The input.
 * @returns op applied to every element.
 */
export function unary(op: UnaryOp, x: Tensor): Tensor {
  const backend = backendOf(op, x);
  const out = wrap(backend, backend.unary(op, x.storage, x.size), x.shape);
  return record(op, [x], out, {});
}

/** y * op(x) in one pass: a backward rule's dy * f'(x) (op = 'geluGrad', 'siluGrad', 'step'); not differentiable */
export const unaryMulOp: Op<{ op: UnaryOp }> = defineOp<{ op: UnaryOp }>({
  name: 'unaryMul',
  shapes([x, y]) {
    if (!sameShape(x!.shape, y!.shape) || x!.dtype !== y!.dtype) {
      throw new ShapeError('unaryMul', `x ${x!.describe()} and y ${y!.describe()} must have one shape and dtype`);
    }
    return { outputs: [x!.shape] };
  },
  composite: ([x, y], { op }) => ({ outputs: [binary('mul', y!, unary(op, x!))] }),
  backward: 'none',
  cases: [
    { inputs: [{ shape: [3, 17] }, { shape: [3, 17] }], attrs: { op: 'geluGrad' } },
    { inputs: [{ shape: [40] }, { shape: [40] }], attrs: { op: 'siluGrad' } },
    { inputs: [{ shape: [2, 9] }, { shape: [2, 9] }], attrs: { op: 'step' } },
  ],
});

/**
 * y * op(x) elementwise, one pass where the backend has a unaryMul kernel (backward rules: dy * f'(x) with
 * op = 'geluGrad', 'siluGrad' or 'step'). Recorded as the product of primitives when autograd is watching, so it
 * stays differentiable; shapes that broadcast take the primitives too.
 *
 * @param op - The unary op.
 * @param x - Its input.
 * @param y - The multiplier.
 * @returns y * op(x).
 */
export function unaryMul(op: UnaryOp, x: Tensor, y: Tensor): Tensor {
  if (!willRecord([x, y]) && sameShape(x.shape, y.shape) && x.dtype === y.dtype) {
    return unaryMulOp.apply([x, y], { op })[0]!;
  }
  return composite([x, y], () => binary('mul', y, unary(op, x)));
}

/** Elementwise -x. */
export const neg = (x: Tensor): Tensor => unary('neg', x);
/** Elementwise e^x. */
export const exp = (x: Tensor): Tensor => unary('exp', x);
/** Elementwise the natural log of x. */
export const log = (x: Tensor): Tensor => unary('log', x);
/** Elementwise the square root of x. */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
/** Elementwise 1 / sqrt(x). */
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
/** Elementwise tanh(x). */
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
/** GELU, tanh approximation (GPT-2's) */
export const gelu = (x: Tensor): Tensor => unary('gelu', x);
/** Elementwise SiLU: x * sigmoid(x). */
export const silu = (x: Tensor): Tensor => unary('silu', x);
/** Elementwise max(x, 0). */
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** Elementwise 1 / (1 + e^-x). */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
/** Elementwise |x|. */
export const abs = (x: Tensor): Tensor => unary('abs', x);
/** Elementwise x * x. */
export const square = (x: Tensor): Tensor => unary('square', x);
/** Elementwise 1 / x. */
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
