import type { BinaryOp, UnaryOp } from '../../backend.js';
import type { FloatArray } from './float-array.js';

const GELU_C = Math.sqrt(2 / Math.PI);

/** One tight loop per op, so V8 compiles each to straight-line float code (no per-element dispatch). */
export function unaryKernel(op: UnaryOp, x: FloatArray, out: FloatArray, n: number): void {
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) out[i] = -x[i]!;
      return;
    case 'exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!);
      return;
    case 'log':
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!);
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!);
      return;
    case 'rsqrt':
      for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(x[i]!);
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!);
      return;
    case 'gelu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)));
      }
      return;
    case 'geluGrad':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        const t = Math.tanh(GELU_C * (v + 0.044715 * v * v * v));
        out[i] = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * v * v);
      }
      return;
    case 'silu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v / (1 + Math.exp(-v));
      }
      return;
    case 'siluGrad':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        const s = 1 / (1 + Math.exp(-v));
        out[i] = s * (1 + v * (1 - s));
      }
      return;
    case 'relu':
      // keeps NaN (a NaN > 0 comparison is false, so write it explicitly)
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v > 0 ? v : v === v ? 0 : v;
      }
      return;
    case 'step':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v > 0 ? 1 : v === v ? 0 : v;
      }
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-x[i]!));
      return;
    case 'abs':
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]!);
      return;
    case 'square':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v * v;
      }
      return;
    case 'reciprocal':
      for (let i = 0; i < n; i++) out[i] = 1 / x[i]!;
      return;
    default: {
      const never: never = op;
      throw new Error(`cpu: unknown unary op ${String(never)}`);
    }
  }
}

type BinFn = (a: number, b: number) => number;

const BIN_FNS: Record<BinaryOp, BinFn> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  // Math.max/min return NaN when either side is NaN: the IEEE semantics we want
  maximum: (a, b) => Math.max(a, b),
  minimum: (a, b) => Math.min(a, b),
  eq: (a, b) => (a === b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
};

/**
 * Broadcast binary op. Fast paths (same shape, scalar operand, row-vector operand) cover the hot cases with
 * monomorphic loops; everything else walks the output with per-operand strides (0 on broadcast dims).
 */
export function binaryKernel(
  op: BinaryOp,
  a: FloatArray,
  aShape: readonly number[],
  b: FloatArray,
  bShape: readonly number[],
  outShape: readonly number[],
  out: FloatArray,
): void {
  const n = out.length;
  const na = a.length;
  const nb = b.length;
  if (na === n && nb === n) sameShape(op, a, b, out, n);
  else if (nb === 1) scalarRight(op, a, b[0]!, out, n, na === n);
  else if (na === 1 && nb === n) scalarLeft(op, a[0]!, b, out, n);
  // b broadcast along leading dims as a trailing block (bias add, row scale)
  else if (na === n && n % nb === 0 && isTrailing(bShape, outShape)) rowRight(op, a, b, out, n, nb);
  else if (nb === n && n % na === 0 && isTrailing(aShape, outShape)) rowLeft(op, a, b, out, n, na);
  else general(BIN_FNS[op], a, aShape, b, bShape, outShape, out);
}

/** true when `shape` (right-aligned) equals the trailing dims of `outShape` after dropping leading 1s */
export function isTrailing(shape: readonly number[], outShape: readonly number[]): boolean {
  let i = 0;
  while (i < shape.length && shape[i] === 1) i++;
  const rest = shape.length - i;
  for (let j = 0; j < rest; j++) if (shape[i + j] !== outShape[outShape.length - rest + j]) return false;
  return true;
}

function sameShape(op: BinaryOp, a: FloatArray, b: FloatArray, out: FloatArray, n: number): void {
  switch (op) {
    case 'add':
      for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
      return;
    case 'sub':
      for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!;
      return;
    case 'mul':
      for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!;
      return;
    case 'div':
      for (let i = 0; i < n; i++) out[i] = a[i]! / b[i]!;
      return;
    default: {
      const f = BIN_FNS[op];
      for (let i = 0; i < n; i++) out[i] = f(a[i]!, b[i]!);
    }
  }
}

function scalarRight(op: BinaryOp, a: FloatArray, s: number, out: FloatArray, n: number, full: boolean): void {
  if (!full) {
    // a is a scalar too (n === 1)
    out[0] = BIN_FNS[op](a[0]!, s);
    return;
  }
  switch (op) {
    case 'add':
      for (let i = 0; i < n; i++) out[i] = a[i]! + s;
      return;
    case 'sub':
      for (let i = 0; i < n; i++) out[i] = a[i]! - s;
      return;
    case 'mul':
      for (let i = 0; i < n; i++) out[i] = a[i]! * s;
      return;
    case 'div':
      for (let i = 0; i < n; i++) out[i] = a[i]! / s;
      return;
    default: {
      const f = BIN_FNS[op];
      for (let i = 0; i < n; i++) out[i] = f(a[i]!, s);
    }
  }
}

function scalarLeft(op: BinaryOp, s: number, b: FloatArray, out: FloatArray, n: number): void {
  const f = BIN_FNS[op];
  for (let i = 0; i < n; i++) out[i] = f(s, b[i]!);
}

function rowRight(op: BinaryOp, a: FloatArray, b: FloatArray, out: FloatArray, n: number, nb: number): void {
  if (op === 'add') {
    for (let base = 0; base < n; base += nb) for (let j = 0; j < nb; j++) out[base + j] = a[base + j]! + b[j]!;
    return;
  }
  if (op === 'mul') {
    for (let base = 0; base < n; base += nb) for (let j = 0; j < nb; j++) out[base + j] = a[base + j]! * b[j]!;
    return;
  }
  const f = BIN_FNS[op];
  for (let base = 0; base < n; base += nb) for (let j = 0; j < nb; j++) out[base + j] = f(a[base + j]!, b[j]!);
}

function rowLeft(op: BinaryOp, a: FloatArray, b: FloatArray, out: FloatArray, n: number, na: number): void {
  const f = BIN_FNS[op];
  for (let base = 0; base < n; base += na) for (let j = 0; j < na; j++) out[base + j] = f(a[j]!, b[base + j]!);
}

function general(
  f: BinFn,
  a: FloatArray,
  aShape: readonly number[],
  b: FloatArray,
  bShape: readonly number[],
  outShape: readonly number[],
  out: FloatArray,
): void {
  const rank = outShape.length;
  const aStr = broadcastStrides(aShape, outShape);
  const bStr = broadcastStrides(bShape, outShape);
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastLen = outShape[last]!;
  const aLast = aStr[last]!;
  const bLast = bStr[last]!;
  const n = out.length;
  let ia = 0;
  let ib = 0;
  let o = 0;
  while (o < n) {
    // innermost dim as a loop
    let pa = ia;
    let pb = ib;
    for (let j = 0; j < lastLen; j++) {
      out[o++] = f(a[pa]!, b[pb]!);
      pa += aLast;
      pb += bLast;
    }
    // odometer over the outer dims
    let d = last - 1;
    while (d >= 0) {
      idx[d]!++;
      ia += aStr[d]!;
      ib += bStr[d]!;
      if (idx[d]! < outShape[d]!) break;
      ia -= aStr[d]! * outShape[d]!;
      ib -= bStr[d]! * outShape[d]!;
      idx[d] = 0;
      d--;
    }
    if (d < 0) break;
  }
}

/** strides of `shape` right-aligned against `outShape`, 0 on broadcast dims */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const str = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const oi = rank - shape.length + i;
    str[oi] = shape[i] === 1 ? 0 : s;
    s *= shape[i]!;
  }
  return str;
}
