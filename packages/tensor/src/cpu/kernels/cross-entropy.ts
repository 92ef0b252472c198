import { TensorError } from '../../errors.js';
import type { FloatArray } from './float-array.js';

function checkTarget(t: number, r: number, vocab: number): void {
  if (!(t >= 0 && t < vocab) || t !== Math.floor(t)) {
    throw new TensorError('crossEntropy', `target ${t} at row ${r} is outside [0, ${vocab})`);
  }
}

/** throws (as the kernels do) for the first target that is not an integer in [0, vocab) */
export function checkTargets(targets: FloatArray, rows: number, vocab: number): void {
  for (let r = 0; r < rows; r++) checkTarget(targets[r]!, r, vocab);
}

/** max of one row (NaN wins, so a NaN logit gives a NaN loss instead of being skipped) */
function rowMax(x: FloatArray, base: number, n: number): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) {
    const v = x[base + j]!;
    if (v > m || v !== v) m = v;
  }
  return m;
}

/** loss[r] = logsumexp(logits[r]) - logits[r, target[r]] */
export function crossEntropyKernel(
  logits: FloatArray,
  targets: FloatArray,
  out: FloatArray,
  rows: number,
  vocab: number,
): void {
  for (let r = 0; r < rows; r++) {
    const t = targets[r]!;
    checkTarget(t, r, vocab);
    const base = r * vocab;
    const m = rowMax(logits, base, vocab);
    let s = 0;
    for (let j = 0; j < vocab; j++) s += Math.exp(logits[base + j]! - m);
    out[r] = m + Math.log(s) - logits[base + t]!;
  }
}

/** dlogits[r] = dLoss[r] * (softmax(logits[r]) - onehot(target[r])) */
export function crossEntropyBackwardKernel(
  logits: FloatArray,
  targets: FloatArray,
  dLoss: FloatArray,
  out: FloatArray,
  rows: number,
  vocab: number,
): void {
  for (let r = 0; r < rows; r++) {
    const t = targets[r]!;
    checkTarget(t, r, vocab);
    const base = r * vocab;
    const m = rowMax(logits, base, vocab);
    let s = 0;
    for (let j = 0; j < vocab; j++) {
      const e = Math.exp(logits[base + j]! - m);
      out[base + j] = e;
      s += e;
    }
    const scale = dLoss[dLoss.length === 1 ? 0 : r]! / s;
    for (let j = 0; j < vocab; j++) out[base + j]! *= scale;
    out[base + t]! -= dLoss[dLoss.length === 1 ? 0 : r]!;
  }
}
