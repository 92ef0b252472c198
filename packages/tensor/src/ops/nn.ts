import type { SoftmaxParams } from '../backend.js';
import { ShapeError, TensorError } from '../errors.js';
import { defineOp, type Op } from '../registry/op.js';
import { formatShape, sameShape, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { tensor } from './creation.js';
import { add, div, exp, log, mul, sub } from './elementwise.js';
import { backendOf, composite, record, requireFloat, requireRank, wrap } from './internal.js';
import { max, sum } from './reduce.js';

/** Options of softmax and logSoftmax. */
export interface SoftmaxOptions {
  /**
   * Causal attention mask over the last two dims [..., Tq, Tk]: query i (at absolute position i + Tk - Tq)
   * sees keys j <= its position. Masked entries come out 0 (softmax) or -Infinity (log-softmax).
   */
  causal?: boolean;
}

/** softmax's attributes: log-softmax or softmax, causal mask or none */
export interface SoftmaxAttrs {
  /** log-softmax instead of softmax */
  log: boolean;
  /** apply the causal mask */
  causal: boolean;
}

/**
 * The kernel layout of a softmax over x's last axis.
 *
 * @param op - The op's name, for errors.
 * @param x - The input.
 * @param causal - Apply the causal mask.
 * @param log - Log-softmax.
 * @returns Rows, columns, log, causal query length.
 * @throws {@link ShapeError} when x's rank is too small, or (causal) there are more queries than keys.
 */
export function softmaxParams(op: string, x: Tensor, causal: boolean, log: boolean): SoftmaxParams {
  requireRank(op, x, causal ? 2 : 1);
  const cols = x.shape[x.rank - 1]!;
  const tq = causal ? x.shape[x.rank - 2]! : 0;
  if (causal && tq > cols) {
    throw new ShapeError(op, `causal mask needs queries <= keys, got [..., ${tq}, ${cols}] in ${formatShape(x.shape)}`);
  }
  return { rows: cols === 0 ? 0 : x.size / cols, cols, log, causalQueryLen: tq };
}

/**
 * A tensor that shares x's values but is cut from the autograd graph.
 *
 * @param x - The tensor.
 * @returns A view of x with no gradient.
 */
export function detach(x: Tensor): Tensor {
  return x.view(x.shape);
}

/**
 * The additive causal mask [Tq, Tk]: 0 where allowed, -Infinity where masked.
 *
 * @param tq - Number of queries.
 * @param tk - Number of keys.
 * @param x - A tensor on the backend to create the mask on.
 * @returns The mask.
 */
export function causalMask(tq: number, tk: number, x: Tensor): Tensor {
  const m = new Float32Array(tq * tk);
  for (let i = 0; i < tq; i++) for (let j = i + tk - tq + 1; j < tk; j++) m[i * tk + j] = Number.NEGATIVE_INFINITY;
  return tensor(m, [tq, tk], { backend: x.backend });
}

const softmaxName = (a: SoftmaxAttrs) => (a.log ? 'logSoftmax' : 'softmax');

const SOFTMAX_CASES = [
  { inputs: [{ shape: [3, 7] }], attrs: { log: false, causal: false } },
  { inputs: [{ shape: [2, 5, 9] }], attrs: { log: true, causal: false } },
  { inputs: [{ shape: [2, 6, 6] }], attrs: { log: false, causal: true } },
  { inputs: [{ shape: [3, 4, 7] }], attrs: { log: true, causal: true } },
];

/** dx of softmax / log-softmax from its output y and the upstream dy (softmax's backward; not differentiable). */
export const softmaxBackwardOp: Op<SoftmaxAttrs> = defineOp<SoftmaxAttrs>({
  name: 'softmaxBackward',
  shapes([y, dy], attrs) {
    requireFloat('softmaxBackward', y!);
    softmaxParams('softmaxBackward', y!, attrs.causal, attrs.log);
    if (!sameShape(y!.shape, dy!.shape)) {
      throw new ShapeError('softmaxBackward', `dy ${formatShape(dy!.shape)} must match y ${formatShape(y!.shape)}`);
    }
    return { outputs: [y!.shape] };
  },
  composite([y, dy], attrs) {
    const p = softmaxParams('softmaxBackward', y!, attrs.causal, attrs.log);
    // masked entries get no gradient and their dy stays out of the row sums, as in the fused kernel
    const g = p.causalQueryLen > 0 ? mul(dy!, exp(causalMask(p.causalQueryLen, p.cols, y!))) : dy!;
    if (p.log) return { outputs: [sub(g, mul(exp(y!), sum(g, -1, { keepDims: true })))] };
    return { outputs: [mul(y!, sub(g, sum(mul(g, y!), -1, { keepDims: true })))] };
  },
  backward: 'none',
});

/** Softmax or log-softmax over the last axis, optionally causal, as one op (softmaxBackward is its rule). */
export const softmaxOp: Op<SoftmaxAttrs> = defineOp<SoftmaxAttrs>({
  name: 'softmax',
  shapes([x], attrs) {
    requireFloat(softmaxName(attrs), x!);
    softmaxParams(softmaxName(attrs), x!, attrs.causal, attrs.log);
    return { outputs: [x!.shape] };
  },
  // mask, subtract the row max for stability, exponentiate, normalize. The mask goes first so the max is over
  // visible keys only: a masked score far above them would underflow the whole row to 0/0.
  composite([x], attrs) {
    const p = softmaxParams(softmaxName(attrs), x!, attrs.causal, attrs.log);
    let z = x!;
    if (p.causalQueryLen > 0) z = add(z, causalMask(p.causalQueryLen, p.cols, x!));
    z = sub(z, max(z, -1, { keepDims: true }));
    if (attrs.log) return { outputs: [sub(z, log(sum(exp(z), -1, { keepDims: true })))] };
    const e = exp(z);
    return { outputs: [div(e, sum(e, -1, { keepDims: true }))] };
  },
  backward: ([g], { outputs, attrs }) => [g ? softmaxBackwardOp.apply([outputs[0]!, g], attrs)[0]! : null],
  cases: SOFTMAX_CASES,
});

/**
 * Softmax over the last axis, optionally causal (the backend's kernel where it has one).
 *
 * @param x - The input.
 * @param opts - causal.
 * @returns The softmax of every row of the last axis.
 * @throws {@link ShapeError} when causal and x has fewer than 2 axes or more queries than keys.
 */
export function softmax(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxOp.apply([x], { log: false, causal: opts.causal ?? false })[0]!;
}

/**
 * Log-softmax over the last axis, optionally causal.
 *
 * @param x - The input.
 * @param opts - causal.
 * @returns The log-softmax of every row of the last axis.
 */
export function logSoftmax(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxOp.apply([x], { log: true, causal: opts.causal ?? false })[0]!;
}

/**
 * The composite of primitives, for tests and for backends without the kernel.
 *
 * @param x - The input.
 * @param opts - causal.
 * @returns The softmax.
 */
export function softmaxComposite(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxOp.applyComposite([x], { log: false, causal: opts.causal ?? false })[0]!;
}

/**
 * Log-softmax as a composite of primitives (see softmaxComposite).
 *
 * @param x - The input.
 * @param opts - causal.
 * @returns The log-softmax.
 */
export function logSoftmaxComposite(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxOp.applyComposite([x], { log: true, causal: opts.causal ?? false })[0]!;
}

/**
 * dx for softmax/log-softmax given its output y and upstream dy (softmax's backward rule; not recorded).
 *
 * @param y - softmax's output.
 * @param dy - The output gradient.
 * @param attrs - log, causal.
 * @returns The input gradient.
 */
export function softmaxBackward(y: Tensor, dy: Tensor, attrs: SoftmaxAttrs): Tensor {
  return softmaxBackwardOp.apply([y, dy], attrs)[0]!;
}

function checkIndices(op: string, idx: Tensor, what: string): void {
  if (idx.dtype !== 'int32')
    throw new TensorError(op, `${what} must be an int32 tensor, got ${idx.dtype} ${formatShape(idx.shape)}`);
}

/**
 * Rows of table [V, D] picked by integer indices [...] -> [..., D] (embedding lookup).
 *
 * @param table - The table [V, D].
 * @param indices - int32 indices in [0, V).
 * @returns The rows, [...indices.shape, D].
 * @throws {@link TensorError} when indices is not int32, table is not [V, D], or (the backend's check) an index
 *   is outside [0, V).
 */
export function gather(table: Tensor, indices: Tensor): Tensor {
  const op = 'gather';
  const backend = backendOf(op, table, indices);
  checkIndices(op, indices, 'indices');
  if (table.rank !== 2) throw new ShapeError(op, `table must be [vocab, dim], got ${formatShape(table.shape)}`);
  const [V, D] = table.shape as [number, number];
  const out = wrap(backend, backend.gather(table.storage, V, D, indices.storage, indices.size), [...indices.shape, D]);
  return record(op, [table, indices], out, {});
}

/**
 * gather's adjoint: sums rows of src [..., D] into a [vocab, D] table at the given indices.
 *
 * @param src - The rows [..., D].
 * @param indices - int32 indices [...] in [0, vocab).
 * @param vocab - Rows of the output.
 * @returns The sums, [vocab, D].
 */
export function scatterAdd(src: Tensor, indices: Tensor, vocab: number): Tensor {
  const op = 'scatterAdd';
  const backend = backendOf(op, src, indices);
  checkIndices(op, indices, 'indices');
  const D = src.shape[src.rank - 1]!;
  if (src.rank < 1 || sizeOf(src.shape.slice(0, -1)) !== indices.size) {
    throw new ShapeError(
      op,
      `src ${formatShape(src.shape)} must be [...indices, dim] for indices ${formatShape(indices.shape)}`,
    );
  }
  const out = wrap(backend, backend.scatterAdd(src.storage, indices.size, D, indices.storage, vocab), [vocab, D]);
  return record(op, [src, indices], out, { vocab });
}

/**
 * One-hot rows [..., depth] for integer indices (not differentiable).
 *
 * @param indices - int32 indices.
 * @param depth - Length of each one-hot row.
 * @returns [...indices.shape, depth] of 0 and 1.
 */
export function oneHot(indices: Tensor, depth: number): Tensor {
  const eye = new Float32Array(depth * depth);
  for (let i = 0; i < depth; i++) eye[i * depth + i] = 1;
  const table = tensor(eye, [depth, depth], { backend: indices.backend });
  const out = gather(table, indices);
  table.dispose();
  return out;
}

function checkCrossEntropy(op: string, logits: Tensor, targets: Tensor): { rows: number; vocab: number } {
  requireFloat(op, logits, 'logits');
  checkIndices(op, targets, 'targets');
  requireRank(op, logits, 1, 'logits');
  const vocab = logits.shape[logits.rank - 1]!;
  const rows = sizeOf(logits.shape.slice(0, -1));
  if (targets.size !== rows || !logits.shape.slice(0, -1).every((d, i) => targets.shape[i] === d)) {
    throw new ShapeError(
      op,
      `logits ${formatShape(logits.shape)} need targets of shape ${formatShape(logits.shape.slice(0, -1))}, got ${formatShape(targets.shape)}`,
    );
  }
  if (rows === 0) throw new ShapeError(op, `logits ${formatShape(logits.shape)} have no rows`);
  return { rows, vocab };
}

const CE_CASES = [
  { inputs: [{ shape: [5, 11] }, { shape: [5], ints: 11 }], attrs: null, noGrad: [1] },
  {
    inputs: [
      { shape: [2, 3, 7], range: [-4, 4] as const },
      { shape: [2, 3], ints: 7 },
    ],
    attrs: null,
    noGrad: [1],
  },
];

/** dlogits for per-row losses weighted by dLoss (cross-entropy's backward; not differentiable). */
export const crossEntropyBackwardOp: Op<null> = defineOp<null>({
  name: 'crossEntropyBackward',
  shapes([logits, targets, dLoss]) {
    const { rows } = checkCrossEntropy('crossEntropyBackward', logits!, targets!);
    if (dLoss!.size !== rows && dLoss!.size !== 1) {
      throw new ShapeError(
        'crossEntropyBackward',
        `dLoss ${formatShape(dLoss!.shape)} must have one value per row (${rows}) or one for all`,
      );
    }
    return { outputs: [logits!.shape] };
  },
  composite([logits, targets, dLoss]) {
    const vocab = logits!.shape[logits!.rank - 1]!;
    const p = softmaxComposite(logits!);
    const g = sub(p, oneHot(targets!, vocab));
    const w = dLoss!.size === 1 ? dLoss!.reshape([]) : dLoss!.reshape([...logits!.shape.slice(0, -1), 1]);
    return { outputs: [mul(g, w)] };
  },
  backward: 'none',
});

/** Per-row negative log-likelihood of integer targets under softmax(logits), as one op. */
export const crossEntropyOp: Op<null> = defineOp<null>({
  name: 'crossEntropy',
  shapes([logits, targets]) {
    checkCrossEntropy('crossEntropy', logits!, targets!);
    return { outputs: [logits!.shape.slice(0, -1)] };
  },
  composite([logits, targets]) {
    const vocab = logits!.shape[logits!.rank - 1]!;
    const logp = logSoftmaxComposite(logits!);
    return { outputs: [mul(sum(mul(oneHot(targets!, vocab), logp), -1), -1)] };
  },
  backward: ([g], { inputs: [logits, targets] }) => [
    g ? crossEntropyBackwardOp.apply([logits!, targets!, g], null)[0]! : null,
    null,
  ],
  cases: CE_CASES,
});

/**
 * Per-row negative log-likelihood [...] of integer targets under softmax(logits [..., V]).
 *
 * @param logits - [..., V] logits.
 * @param targets - [...] int32 target ids.
 * @returns The per-row losses.
 */
export function crossEntropyRows(logits: Tensor, targets: Tensor): Tensor {
  return crossEntropyOp.apply([logits, targets], null)[0]!;
}

/**
 * Mean cross-entropy over all rows: the language-model loss.
 *
 * @param logits - [..., V] logits.
 * @param targets - [...] int32 target ids.
 * @returns A scalar: the mean per-row loss.
 *
 * @example
 * ```ts
 * const loss = crossEntropy(logits.reshape([-1, V]), targets.reshape([-1]));
 * ```
 */
export function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  return composite([logits, targets], () => {
    const rowsLoss = crossEntropyRows(logits, targets);
    return mul(sum(rowsLoss), 1 / rowsLoss.size);
  });
}

/**
 * dlogits for per-row losses weighted by dLoss [rows] (cross-entropy's backward rule; not recorded).
 *
 * @param logits - [rows, V] logits.
 * @param targets - [rows] int32 target ids.
 * @param dLoss - The loss gradient per row.
 * @returns The logits' gradient.
 */
export function crossEntropyBackward(logits: Tensor, targets: Tensor, dLoss: Tensor): Tensor {
  return crossEntropyBackwardOp.apply([logits, targets, dLoss], null)[0]!;
}
