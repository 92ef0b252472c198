import type { Backend, SoftmaxParams, Storage, UnaryOp } from '../backend.js';
import { unaryMulOp } from '../ops/elementwise.js';
import { crossEntropyBackwardOp, crossEntropyOp, softmaxBackwardOp, softmaxOp } from '../ops/nn.js';
import { type DType, Tensor } from '../tensor.js';
import type { Op } from './op.js';

/**
 * Storage-level access to registered op kernels, for conformance suites and kernel benchmarks: calls that run one
 * op's kernel on a backend with values in through `upload` and out through `download`, like the primitives. Each
 * package that owns ops writes such calls for its own ops with `storageKernel` (norm, attention and ffn do, in their
 * `/testing` exports); `kernelCalls` covers this package's. A call is undefined where the backend has no kernel.
 */

export interface KernelCalls {
  /**
   * @param x - The input rows.
   * @param p - The layout.
   * @returns The softmax (or log-softmax) of each row.
   */
  softmax?(x: Storage, p: SoftmaxParams): Storage;
  /**
   * @param y - The forward's output.
   * @param dy - The output gradient.
   * @param p - The layout.
   * @returns The input gradient.
   */
  softmaxBackward?(y: Storage, dy: Storage, p: SoftmaxParams): Storage;
  /**
   * @param logits - [rows, vocab] logits.
   * @param targets - rows target ids.
   * @param rows - Number of rows.
   * @param vocab - Row length.
   * @returns The per-row losses.
   */
  crossEntropy?(logits: Storage, targets: Storage, rows: number, vocab: number): Storage;
  /**
   * @param logits - [rows, vocab] logits.
   * @param targets - rows target ids.
   * @param dLoss - The loss gradient.
   * @param rows - Number of rows.
   * @param vocab - Row length.
   * @returns The logits' gradient.
   */
  crossEntropyBackward?(logits: Storage, targets: Storage, dLoss: Storage, rows: number, vocab: number): Storage;
  /**
   * @param op - The unary op.
   * @param x - Its input.
   * @param y - The multiplier.
   * @param size - Number of values.
   * @returns op(x) * y.
   */
  unaryMul?(op: UnaryOp, x: Storage, y: Storage, size: number): Storage;
}

/** One input of a storage-level kernel call: the storage, its shape, its dtype (default float32). */
export type StorageInput = readonly [Storage, readonly number[], DType?];

/** A kernel called on storages: outputs, then saved tensors, in the order the kernel returns them. */
export type StorageKernel<A> = (inputs: readonly StorageInput[], attrs: A) => Storage[];

/**
 * The kernel of `op` on backend b, called on storages; undefined when b has none. For conformance suites and kernel
 * benchmarks, which work below tensors.
 *
 * @param op - The op.
 * @param b - The backend.
 * @returns The call, or undefined where the backend has no kernel for the op.
 */
export function storageKernel<A>(op: Op<A>, b: Backend): StorageKernel<A> | undefined {
  const kernel = op.kernelFor(b);
  if (!kernel) return undefined;
  return (inputs, attrs) => {
    // views over the caller's storages: never disposed here (the harness owns them)
    const ts = inputs.map(([s, shape, dtype]) => new Tensor(b, s, shape, dtype ?? 'float32'));
    op.spec.shapes(ts, attrs);
    const r = kernel(b, ts, attrs);
    if (!r) throw new Error(`the '${b.name}' kernel of '${op.name}' declined the inputs`);
    return [...r.outputs, ...(r.saved ?? [])];
  };
}

const softmaxShape = (p: SoftmaxParams) =>
  p.causalQueryLen > 0 ? [p.rows / p.causalQueryLen, p.causalQueryLen, p.cols] : [p.rows, p.cols];

/**
 * Storage-level calls into backend b's kernels of the ops this package owns (see KernelCalls).
 *
 * This package's kernels on a backend, callable on storages.
 *
 * @param b - The backend.
 * @returns Its calls; a kernel it does not register is undefined.
 */
export function kernelCalls(b: Backend): KernelCalls {
  const calls: KernelCalls = {};
  const sm = storageKernel(softmaxOp, b);
  if (sm) calls.softmax = (x, p) => sm([[x, softmaxShape(p)]], { log: p.log, causal: p.causalQueryLen > 0 })[0]!;
  const smb = storageKernel(softmaxBackwardOp, b);
  if (smb) {
    calls.softmaxBackward = (y, dy, p) =>
      smb(
        [
          [y, softmaxShape(p)],
          [dy, softmaxShape(p)],
        ],
        { log: p.log, causal: p.causalQueryLen > 0 },
      )[0]!;
  }
  const ce = storageKernel(crossEntropyOp, b);
  if (ce) {
    calls.crossEntropy = (l, t, rows, vocab) =>
      ce(
        [
          [l, [rows, vocab]],
          [t, [rows], 'int32'],
        ],
        null,
      )[0]!;
  }
  const ceb = storageKernel(crossEntropyBackwardOp, b);
  if (ceb) {
    calls.crossEntropyBackward = (l, t, d, rows, vocab) =>
      ceb(
        [
          [l, [rows, vocab]],
          [t, [rows], 'int32'],
          [d, [rows]],
        ],
        null,
      )[0]!;
  }
  const um = storageKernel(unaryMulOp, b);
  if (um) {
    calls.unaryMul = (op, x, y, n) =>
      um(
        [
          [x, [n]],
          [y, [n]],
        ],
        { op },
      )[0]!;
  }
  return calls;
}
