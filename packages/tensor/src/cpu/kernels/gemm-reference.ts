import { allocLike, type FloatArray } from './float-array.js';
/**
 * Plain-TypeScript matmul: C[M,N] = op(A) op(B), row-major, op = optional transpose. The readable oracle for
 * the fast kernels and the fallback where WebAssembly SIMD is missing. Operands are first brought to A:[M,K],
 * B:[K,N] (a transpose copy costs O(MK) against the O(MKN) product), then 4 rows of C are updated per pass over
 * a row of B, so each loaded B value feeds 4 multiply-adds and the 4 C rows stay in L1.
 */
export function gemmReference(
  A: FloatArray,
  aOff: number,
  B: FloatArray,
  bOff: number,
  C: FloatArray,
  cOff: number,
  M: number,
  K: number,
  N: number,
  transA: boolean,
  transB: boolean,
): void {
  let a = A;
  let ao = aOff;
  if (transA) {
    a = transposeCopy(A, aOff, K, M);
    ao = 0;
  }
  let b = B;
  let bo = bOff;
  if (transB) {
    b = transposeCopy(B, bOff, N, K);
    bo = 0;
  }
  C.fill(0, cOff, cOff + M * N);
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const c0 = cOff + i * N;
    const c1 = c0 + N;
    const c2 = c1 + N;
    const c3 = c2 + N;
    const r0 = ao + i * K;
    for (let k = 0; k < K; k++) {
      const a0 = a[r0 + k]!;
      const a1 = a[r0 + K + k]!;
      const a2 = a[r0 + 2 * K + k]!;
      const a3 = a[r0 + 3 * K + k]!;
      const br = bo + k * N;
      for (let j = 0; j < N; j++) {
        const bv = b[br + j]!;
        C[c0 + j]! += a0 * bv;
        C[c1 + j]! += a1 * bv;
        C[c2 + j]! += a2 * bv;
        C[c3 + j]! += a3 * bv;
      }
    }
  }
  for (; i < M; i++) {
    const c0 = cOff + i * N;
    const r0 = ao + i * K;
    for (let k = 0; k < K; k++) {
      const a0 = a[r0 + k]!;
      const br = bo + k * N;
      for (let j = 0; j < N; j++) C[c0 + j]! += a0 * b[br + j]!;
    }
  }
}

/** src viewed as [rows, cols] at offset -> a fresh [cols, rows] */
function transposeCopy(src: FloatArray, off: number, rows: number, cols: number): FloatArray {
  const out = allocLike(src, rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = off + r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = src[base + c]!;
  }
  return out;
}
