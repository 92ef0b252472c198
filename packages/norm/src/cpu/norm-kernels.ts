import type { FloatArray } from '@tinyformer/tensor';

/**
 * Fused RMSNorm and LayerNorm, forward and backward, one pass per row (llm.c layernorm_forward/backward).
 * Row statistics accumulate in f64. Backward accumulates dg/db over rows in f64 and writes dx in one pass:
 *   LayerNorm: dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dxhat = dy * g
 *   RMSNorm:   dx = rstd * (dxhat - xhat * mean(dxhat * xhat))
 */
export function rmsnormForwardKernel(
  x: FloatArray,
  g: FloatArray | null,
  y: FloatArray,
  rstdOut: FloatArray,
  rows: number,
  dim: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * dim;
    let ss = 0;
    for (let j = 0; j < dim; j++) {
      const v = x[base + j]!;
      ss += v * v;
    }
    const rstd = 1 / Math.sqrt(ss / dim + eps);
    rstdOut[r] = rstd;
    if (g) for (let j = 0; j < dim; j++) y[base + j] = x[base + j]! * rstd * g[j]!;
    else for (let j = 0; j < dim; j++) y[base + j] = x[base + j]! * rstd;
  }
}

export function rmsnormBackwardKernel(
  dy: FloatArray,
  x: FloatArray,
  g: FloatArray | null,
  rstdIn: FloatArray,
  dx: FloatArray,
  dg: FloatArray | null,
  rows: number,
  dim: number,
): void {
  const dgAcc = dg ? new Float64Array(dim) : null;
  for (let r = 0; r < rows; r++) {
    const base = r * dim;
    const rstd = rstdIn[r]!;
    let dot = 0; // sum(dxhat * xhat)
    for (let j = 0; j < dim; j++) {
      const xhat = x[base + j]! * rstd;
      const d = dy[base + j]!;
      const dxhat = g ? d * g[j]! : d;
      dot += dxhat * xhat;
      if (dgAcc) dgAcc[j]! += d * xhat;
    }
    const c = dot / dim;
    for (let j = 0; j < dim; j++) {
      const xhat = x[base + j]! * rstd;
      const dxhat = g ? dy[base + j]! * g[j]! : dy[base + j]!;
      dx[base + j] = rstd * (dxhat - xhat * c);
    }
  }
  if (dg && dgAcc) for (let j = 0; j < dim; j++) dg[j] = dgAcc[j]!;
}

export function layernormForwardKernel(
  x: FloatArray,
  g: FloatArray | null,
  b: FloatArray | null,
  y: FloatArray,
  meanOut: FloatArray,
  rstdOut: FloatArray,
  rows: number,
  dim: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[base + j]!;
    const mean = s / dim;
    let v = 0;
    for (let j = 0; j < dim; j++) {
      const d = x[base + j]! - mean;
      v += d * d;
    }
    const rstd = 1 / Math.sqrt(v / dim + eps);
    meanOut[r] = mean;
    rstdOut[r] = rstd;
    for (let j = 0; j < dim; j++) {
      let o = (x[base + j]! - mean) * rstd;
      if (g) o *= g[j]!;
      if (b) o += b[j]!;
      y[base + j] = o;
    }
  }
}

export function layernormBackwardKernel(
  dy: FloatArray,
  x: FloatArray,
  g: FloatArray | null,
  meanIn: FloatArray,
  rstdIn: FloatArray,
  dx: FloatArray,
  dg: FloatArray | null,
  db: FloatArray | null,
  rows: number,
  dim: number,
): void {
  const dgAcc = dg ? new Float64Array(dim) : null;
  const dbAcc = db ? new Float64Array(dim) : null;
  for (let r = 0; r < rows; r++) {
    const base = r * dim;
    const mean = meanIn[r]!;
    const rstd = rstdIn[r]!;
    let sum = 0;
    let dot = 0;
    for (let j = 0; j < dim; j++) {
      const xhat = (x[base + j]! - mean) * rstd;
      const d = dy[base + j]!;
      const dxhat = g ? d * g[j]! : d;
      sum += dxhat;
      dot += dxhat * xhat;
      if (dgAcc) dgAcc[j]! += d * xhat;
      if (dbAcc) dbAcc[j]! += d;
    }
    const m1 = sum / dim;
    const m2 = dot / dim;
    for (let j = 0; j < dim; j++) {
      const xhat = (x[base + j]! - mean) * rstd;
      const dxhat = g ? dy[base + j]! * g[j]! : dy[base + j]!;
      dx[base + j] = rstd * (dxhat - m1 - xhat * m2);
    }
  }
  if (dg && dgAcc) for (let j = 0; j < dim; j++) dg[j] = dgAcc[j]!;
  if (db && dbAcc) for (let j = 0; j < dim; j++) db[j] = dbAcc[j]!;
}
