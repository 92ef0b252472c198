import type { ReduceOp } from '../../backend.js';
import type { FloatArray } from './float-array.js';

/** Reduces x viewed as [outer, len, inner] over the middle axis into out [outer, inner]. Sums accumulate in f64. */
export function reduceKernel(
  op: ReduceOp,
  x: FloatArray,
  out: FloatArray,
  outer: number,
  len: number,
  inner: number,
): void {
  if (op === 'sum') {
    if (inner === 1) {
      for (let o = 0; o < outer; o++) {
        let s = 0;
        const base = o * len;
        for (let k = 0; k < len; k++) s += x[base + k]!;
        out[o] = s;
      }
      return;
    }
    const acc = new Float64Array(inner);
    for (let o = 0; o < outer; o++) {
      acc.fill(0);
      const base = o * len * inner;
      for (let k = 0; k < len; k++) {
        const row = base + k * inner;
        for (let i = 0; i < inner; i++) acc[i]! += x[row + i]!;
      }
      for (let i = 0; i < inner; i++) out[o * inner + i] = acc[i]!;
    }
    return;
  }
  // max: NaN wins (NumPy semantics)
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let m = Number.NEGATIVE_INFINITY;
      const base = o * len * inner + i;
      for (let k = 0; k < len; k++) {
        const v = x[base + k * inner]!;
        if (v > m || v !== v) {
          m = v;
          if (v !== v) break;
        }
      }
      out[o * inner + i] = m;
    }
  }
}
