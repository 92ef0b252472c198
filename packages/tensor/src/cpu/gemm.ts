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

/** A matmul implementation the CPU backend calls: a GemmFn, and optionally a whole batched matmul. */
export interface GemmProvider {
  /** e.g. 'ts-blocked' or 'wasm-simd 2x16' */
  readonly name: string;
  /** one product (see GemmFn) */
  readonly gemm: GemmFn;
  /**
   * optional whole batched matmul (C = batch x [M, N] from offset 0), so a wasm kernel copies in and out once
   *
   * @param A - Every A operand, from offset 0.
   * @param B - Every B operand, from offset 0.
   * @param C - The output, batch x [M, N].
   * @param p - Sizes, transposes and batch strides.
   */
  batched?(A: Float32Array, B: Float32Array, C: Float32Array, p: MatmulParams): void;
}

/** The plain-TypeScript reference GEMM (no WASM): the fallback and the test oracle. */
export const referenceGemm: GemmProvider = { name: 'ts-reference', gemm: gemmReference };
