import type { MatmulParams } from '../backend.js';
import { gemmReference } from './kernels/gemm-reference.js';

/**
 * C[M,N] (overwritten) = op(A) op(B), row-major; A is [M,K] (or [K,M] when transA), B is [K,N] (or [N,K]).
 * Offsets index into the arrays, so batched matmul passes one big buffer per operand.
 */
export type GemmFn = (
  A: Float32Array,
  aOff: number,
  B: Float32Array,
  bOff: number,
  C: Float32Array,
  cOff: number,
  M: number,
  K: number,
  N: number,
  transA: boolean,
  transB: boolean,
) => void;

export interface GemmProvider {
  /** e.g. 'ts-blocked' or 'wasm-simd 2x16' */
  readonly name: string;
  readonly gemm: GemmFn;
  /** optional whole batched matmul (C = batch x [M, N] from offset 0), so a wasm kernel copies in and out once */
  batched?(A: Float32Array, B: Float32Array, C: Float32Array, p: MatmulParams): void;
}

export const referenceGemm: GemmProvider = { name: 'ts-reference', gemm: gemmReference };
