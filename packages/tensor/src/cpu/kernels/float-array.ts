/**
 * Kernels take either precision: Float32Array in normal use, Float64Array in the CPU backend's float64 mode
 * (gradcheck's finite differences). A process that only trains sees one type, so call sites stay monomorphic.
 */
export type FloatArray = Float32Array | Float64Array;

export function allocLike(like: FloatArray, n: number): FloatArray {
  return like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}
