/**
 * The head layout (packed [batch, seq, parts*heads*headDim] <-> parts x [batch, heads, seq, headDim]) and RoPE's
 * kernel parameters are declared once, in the tensor package's storage-level kernel access (its conformance suite
 * and the kernel benchmarks call kernels with them); attention's ops and kernels use them from there.
 */
export type { HeadsParams, RopeParams } from '@tinyformer/tensor';

/** The rope op's attributes: positions start at startPos; `scale` multiplies the result. */
export interface RopeAttrs {
  startPos: number;
  base: number;
  scale: number;
  /** rotate by minus the angle: RoPE's backward, since the Jacobian of a rotation is its inverse */
  inverse: boolean;
}
