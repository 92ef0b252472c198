import type { FloatArray } from '@tinyformer/tensor';

/** SwiGLU's gate: out = silu(a) * b */
export function swigluKernel(a: FloatArray, b: FloatArray, out: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = a[i]!;
    out[i] = (v / (1 + Math.exp(-v))) * b[i]!;
  }
}

/** SwiGLU backward: s = sigmoid(a); db = dy * a * s; da = dy * b * s * (1 + a * (1 - s)) */
export function swigluBackwardKernel(
  a: FloatArray,
  b: FloatArray,
  dy: FloatArray,
  da: FloatArray,
  db: FloatArray,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const v = a[i]!;
    const s = 1 / (1 + Math.exp(-v));
    const g = dy[i]!;
    db[i] = g * v * s;
    da[i] = g * b[i]! * s * (1 + v * (1 - s));
  }
}
