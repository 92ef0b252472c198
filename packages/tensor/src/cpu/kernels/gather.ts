import { TensorError } from '../../errors.js';
import type { FloatArray } from './float-array.js';

export function gatherKernel(
  table: FloatArray,
  vocab: number,
  dim: number,
  indices: FloatArray,
  n: number,
  out: FloatArray,
): void {
  for (let i = 0; i < n; i++) {
    const v = indices[i]!;
    if (!(v >= 0 && v < vocab) || v !== Math.floor(v)) {
      throw new TensorError('gather', `index ${v} at position ${i} is outside [0, ${vocab})`);
    }
    out.set(table.subarray(v * dim, v * dim + dim), i * dim);
  }
}

export function scatterAddKernel(
  src: FloatArray,
  n: number,
  dim: number,
  indices: FloatArray,
  vocab: number,
  out: FloatArray,
): void {
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const v = indices[i]!;
    if (!(v >= 0 && v < vocab) || v !== Math.floor(v)) {
      throw new TensorError('scatterAdd', `index ${v} at position ${i} is outside [0, ${vocab})`);
    }
    const o = v * dim;
    const s = i * dim;
    for (let j = 0; j < dim; j++) out[o + j]! += src[s + j]!;
  }
}
