import { formatShape, type Tensor, TensorError } from '@tinyformer/tensor';

/**
 * The norms as plain compositions of primitive ops, differentiated op by op by autograd: the readable
 * reference the fused ops are tested against, and the path to compare speeds with.
 *
 * @param x - (..., D) input.
 * @param g - The scale [D], or null.
 * @param eps - Added under the square root.
 * @returns (..., D) output.
 * @throws {@link @tinyformer/tensor!TensorError} when x has no axis.
 */
export function rmsNormComposite(x: Tensor, g: Tensor | null, eps: number): Tensor {
  if (x.rank < 1) throw new TensorError('rmsnorm', `input must have a feature axis, got ${formatShape(x.shape)}`);
  const y = x.mul(x.square().mean(-1, { keepDims: true }).add(eps).rsqrt());
  return g ? y.mul(g) : y;
}

/**
 * LayerNorm as a composition of primitive ops (see rmsNormComposite).
 *
 * @param x - (..., D) input.
 * @param g - The scale [D], or null.
 * @param b - The shift [D], or null.
 * @param eps - Added under the square root.
 * @returns (..., D) output.
 * @throws {@link @tinyformer/tensor!TensorError} when x has no axis.
 */
export function layerNormComposite(x: Tensor, g: Tensor | null, b: Tensor | null, eps: number): Tensor {
  if (x.rank < 1) throw new TensorError('layernorm', `input must have a feature axis, got ${formatShape(x.shape)}`);
  const xc = x.sub(x.mean(-1, { keepDims: true }));
  let y = xc.mul(xc.square().mean(-1, { keepDims: true }).add(eps).rsqrt());
  if (g) y = y.mul(g);
  if (b) y = y.add(b);
  return y;
}
