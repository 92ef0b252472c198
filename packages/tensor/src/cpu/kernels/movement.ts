import { stridesOf } from '../../shape.js';
import type { FloatArray } from './float-array.js';

export function permuteKernel(x: FloatArray, shape: readonly number[], perm: readonly number[], out: FloatArray): void {
  const rank = shape.length;
  const inStr = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]!);
  // stride in x for each output dim
  const str = perm.map((p) => inStr[p]!);
  if (rank === 0) {
    out[0] = x[0]!;
    return;
  }
  const last = rank - 1;
  const lastLen = outShape[last]!;
  const lastStr = str[last]!;
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  let o = 0;
  const n = out.length;
  while (o < n) {
    let p = src;
    for (let j = 0; j < lastLen; j++) {
      out[o++] = x[p]!;
      p += lastStr;
    }
    let d = last - 1;
    while (d >= 0) {
      idx[d]!++;
      src += str[d]!;
      if (idx[d]! < outShape[d]!) break;
      src -= str[d]! * outShape[d]!;
      idx[d] = 0;
      d--;
    }
    if (d < 0) break;
  }
}

/**
 * Copies the box [begin, begin+size) of a [shape] tensor into a dense [size] tensor (toBox = false), or the
 * reverse: a dense [size] into the box of a zero-filled [shape] tensor (toBox = true, slice's adjoint).
 */
export function boxCopy(
  dense: FloatArray,
  full: FloatArray,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  toBox: boolean,
): void {
  const rank = shape.length;
  if (rank === 0) {
    if (toBox) full[0] = dense[0]!;
    else dense[0] = full[0]!;
    return;
  }
  const str = stridesOf(shape);
  const last = rank - 1;
  const rowLen = size[last]!;
  const n = dense.length;
  if (n === 0) return;
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let d = 0; d < rank; d++) src += begin[d]! * str[d]!;
  let o = 0;
  while (o < n) {
    if (toBox) for (let j = 0; j < rowLen; j++) full[src + j] = dense[o + j]!;
    else for (let j = 0; j < rowLen; j++) dense[o + j] = full[src + j]!;
    o += rowLen;
    let d = last - 1;
    while (d >= 0) {
      idx[d]!++;
      src += str[d]!;
      if (idx[d]! < size[d]!) break;
      src -= str[d]! * size[d]!;
      idx[d] = 0;
      d--;
    }
    if (d < 0) break;
  }
}

export function concatKernel(
  xs: readonly FloatArray[],
  shapes: readonly (readonly number[])[],
  axis: number,
  out: FloatArray,
): void {
  // view every input as [outer, len_i * inner]; the output interleaves their rows
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shapes[0]![i]!;
  const rowLens = shapes.map((s) => {
    let r = 1;
    for (let i = axis; i < s.length; i++) r *= s[i]!;
    return r;
  });
  const total = rowLens.reduce((a, b) => a + b, 0);
  for (let o = 0; o < outer; o++) {
    let dst = o * total;
    for (let t = 0; t < xs.length; t++) {
      const len = rowLens[t]!;
      out.set(xs[t]!.subarray(o * len, o * len + len), dst);
      dst += len;
    }
  }
}
