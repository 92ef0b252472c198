import type { SoftmaxParams } from '../../backend.js';
import type { FloatArray } from './float-array.js';

/** Row softmax / log-softmax with the causal rule of SoftmaxParams; masked entries get 0 (softmax) or -Inf (log). */
export function softmaxKernel(x: FloatArray, out: FloatArray, p: SoftmaxParams): void {
  const { rows, cols, log, causalQueryLen: tq } = p;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    // keys allowed: j < limit
    const limit = tq > 0 ? Math.min(cols, (r % tq) + (cols - tq) + 1) : cols;
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < limit; j++) {
      const v = x[base + j]!;
      if (v > m || v !== v) m = v;
    }
    let s = 0;
    if (log) {
      for (let j = 0; j < limit; j++) s += Math.exp(x[base + j]! - m);
      const lse = m + Math.log(s);
      for (let j = 0; j < limit; j++) out[base + j] = x[base + j]! - lse;
      for (let j = limit; j < cols; j++) out[base + j] = Number.NEGATIVE_INFINITY;
    } else {
      // one exp per entry: keep it in out (rounded to the storage precision, as the result is) and rescale
      for (let j = 0; j < limit; j++) {
        const e = Math.exp(x[base + j]! - m);
        out[base + j] = e;
        s += e;
      }
      const inv = 1 / s;
      for (let j = 0; j < limit; j++) out[base + j] = out[base + j]! * inv;
      for (let j = limit; j < cols; j++) out[base + j] = 0;
    }
  }
}

/** softmax: dx = y * (dy - sum(dy*y)); log-softmax: dx = dy - exp(y) * sum(dy). Masked entries get 0. */
export function softmaxBackwardKernel(y: FloatArray, dy: FloatArray, out: FloatArray, p: SoftmaxParams): void {
  const { rows, cols, log, causalQueryLen: tq } = p;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const limit = tq > 0 ? Math.min(cols, (r % tq) + (cols - tq) + 1) : cols;
    let s = 0;
    if (log) {
      for (let j = 0; j < limit; j++) s += dy[base + j]!;
      for (let j = 0; j < limit; j++) out[base + j] = dy[base + j]! - Math.exp(y[base + j]!) * s;
    } else {
      for (let j = 0; j < limit; j++) s += dy[base + j]! * y[base + j]!;
      for (let j = 0; j < limit; j++) out[base + j] = y[base + j]! * (dy[base + j]! - s);
    }
    for (let j = limit; j < cols; j++) out[base + j] = 0;
  }
}
