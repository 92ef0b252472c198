import type { AdamWParams } from '../../backend.js';
import type { FloatArray } from './float-array.js';

/** In-place AdamW (Loshchilov & Hutter): decay is applied to the weights directly, not through the gradient. */
export function adamwKernel(
  p: FloatArray,
  g: FloatArray,
  m: FloatArray,
  v: FloatArray,
  n: number,
  h: AdamWParams,
): void {
  const { lr, beta1, beta2, eps, weightDecay, step, gradScale } = h;
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  const decay = 1 - lr * weightDecay;
  for (let i = 0; i < n; i++) {
    const gi = g[i]! * gradScale;
    const mi = beta1 * m[i]! + (1 - beta1) * gi;
    const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i]! * decay - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
  }
}
