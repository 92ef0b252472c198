import { ShapeError } from '../errors.js';
import { broadcastShapes, formatShape, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf, composite, record, requireFloat, wrap } from './internal.js';

/** Options of matmul: read either operand's last two dims transposed (no copy). */
export interface MatmulOptions {
  /** use a's last two dims transposed */
  transA?: boolean;
  /** use b's last two dims transposed */
  transB?: boolean;
}

/**
 * Batched matrix product over the last two dims: [..., M, K] x [..., K, N] -> [..., M, N]. Leading (batch) dims
 * broadcast; a rank-2 operand is shared across the batch without a copy.
 *
 * @param a - [..., M, K] (or [..., K, M] with transA).
 * @param b - [..., K, N] (or [..., N, K] with transB).
 * @param opts - transA, transB.
 * @returns [..., M, N].
 * @throws {@link ShapeError} when an operand has rank < 2, the inner dims differ or the batch dims do not broadcast.
 * @throws {@link TensorError} when an operand is not float32.
 *
 * @example
 * ```ts
 * const y = matmul(x, w, { transB: true }); // x: (B*T, C), w: (V, C) -> (B*T, V)
 * ```
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const op = 'matmul';
  const backend = backendOf(op, a, b);
  requireFloat(op, a);
  requireFloat(op, b);
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(op, `${formatShape(a.shape)} x ${formatShape(b.shape)}: both operands need rank >= 2`);
  }
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const M = transA ? ac : ar;
  const K = transA ? ar : ac;
  const Kb = transB ? bc : br;
  const N = transB ? br : bc;
  if (K !== Kb) {
    const t = `${transA ? 'transA ' : ''}${transB ? 'transB ' : ''}`;
    throw new ShapeError(op, `${formatShape(a.shape)} x ${formatShape(b.shape)}: ${t}inner dims ${K} != ${Kb}`);
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batchShape = broadcastShapes(op, aBatch, bBatch);
  const batch = sizeOf(batchShape);
  // operands whose batch dims are all broadcast are shared (stride 0); partial broadcasting is materialized
  const expandA = sizeOf(aBatch) !== batch && sizeOf(aBatch) !== 1;
  const expandB = sizeOf(bBatch) !== batch && sizeOf(bBatch) !== 1;
  const run = () => {
    const A = expandA ? a.broadcastTo([...batchShape, ...a.shape.slice(-2)]) : a;
    const B = expandB ? b.broadcastTo([...batchShape, ...b.shape.slice(-2)]) : b;
    const aStride = sizeOf(A.shape.slice(0, -2)) === batch && batch > 1 ? M * K : 0;
    const bStride = sizeOf(B.shape.slice(0, -2)) === batch && batch > 1 ? K * N : 0;
    const storage = backend.matmul(A.storage, B.storage, {
      batch,
      M,
      K,
      N,
      transA,
      transB,
      aBatchStride: aStride,
      bBatchStride: bStride,
    });
    const out = wrap(backend, storage, [...batchShape, M, N]);
    return record(op, [A, B], out, { transA, transB });
  };
  // the broadcast copies are freed with the call unless autograd keeps them for backward
  return expandA || expandB ? composite([a, b], run) : run();
}
