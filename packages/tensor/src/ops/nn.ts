import type { SoftmaxParams } from '../backend.js';
import { ShapeError, TensorError } from '../errors.js';
import { formatShape, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { tensor } from './creation.js';
import { add, div, exp, log, mul, sub } from './elementwise.js';
import { backendOf, composite, record, requireFloat, requireRank, wrap } from './internal.js';
import { max, sum } from './reduce.js';

export interface SoftmaxOptions {
  /**
   * Causal attention mask over the last two dims [..., Tq, Tk]: query i (at absolute position i + Tk - Tq)
   * sees keys j <= its position. Masked entries come out 0 (softmax) or -Infinity (log-softmax).
   */
  causal?: boolean;
}

export function softmaxParams(op: string, x: Tensor, causal: boolean, log: boolean): SoftmaxParams {
  requireRank(op, x, causal ? 2 : 1);
  const cols = x.shape[x.rank - 1]!;
  const tq = causal ? x.shape[x.rank - 2]! : 0;
  if (causal && tq > cols) {
    throw new ShapeError(op, `causal mask needs queries <= keys, got [..., ${tq}, ${cols}] in ${formatShape(x.shape)}`);
  }
  return { rows: cols === 0 ? 0 : x.size / cols, cols, log, causalQueryLen: tq };
}

/** A tensor that shares x's values but is cut from the autograd graph. */
export function detach(x: Tensor): Tensor {
  return x.view(x.shape);
}

/** The additive causal mask [Tq, Tk]: 0 where allowed, -Infinity where masked. */
export function causalMask(tq: number, tk: number, x: Tensor): Tensor {
  const m = new Float32Array(tq * tk);
  for (let i = 0; i < tq; i++) for (let j = i + tk - tq + 1; j < tk; j++) m[i * tk + j] = Number.NEGATIVE_INFINITY;
  return tensor(m, [tq, tk], { backend: x.backend });
}

function softmaxImpl(x: Tensor, opts: SoftmaxOptions, isLog: boolean, forceComposite: boolean): Tensor {
  const op = isLog ? 'logSoftmax' : 'softmax';
  const backend = backendOf(op, x);
  requireFloat(op, x);
  const p = softmaxParams(op, x, opts.causal ?? false, isLog);
  const fused = backend.fused.softmax;
  if (fused && !forceComposite) {
    const out = wrap(backend, fused(x.storage, p), x.shape);
    return record(op, [x], out, { params: p });
  }
  // composite: mask, subtract the (detached) row max for stability, exponentiate, normalize. The mask goes first so
  // the max is over visible keys only: a masked score far above them would underflow the whole row to 0/0.
  return composite([x], () => {
    let z = x;
    if (p.causalQueryLen > 0) z = add(z, causalMask(p.causalQueryLen, p.cols, x));
    z = sub(z, detach(max(z, -1, { keepDims: true })));
    if (isLog) return sub(z, log(sum(exp(z), -1, { keepDims: true })));
    const e = exp(z);
    return div(e, sum(e, -1, { keepDims: true }));
  });
}

/** Softmax over the last axis, optionally causal (fused kernel when the backend has one). */
export function softmax(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxImpl(x, opts, false, false);
}

/** Log-softmax over the last axis, optionally causal. */
export function logSoftmax(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxImpl(x, opts, true, false);
}

/** The composite of primitives, for tests and for backends without the fused kernel. */
export function softmaxComposite(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxImpl(x, opts, false, true);
}

export function logSoftmaxComposite(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxImpl(x, opts, true, true);
}

/** dx for softmax/log-softmax given its output y and upstream dy (used by autograd; not recorded). */
export function softmaxBackward(y: Tensor, dy: Tensor, p: SoftmaxParams): Tensor {
  const backend = backendOf('softmaxBackward', y, dy);
  const fused = backend.fused.softmaxBackward;
  if (fused) return wrap(backend, fused(y.storage, dy.storage, p), y.shape);
  return composite([y, dy], () => {
    // masked entries get no gradient and their dy stays out of the row sums, as in the fused kernel
    const g = p.causalQueryLen > 0 ? mul(dy, exp(causalMask(p.causalQueryLen, p.cols, y))) : dy;
    if (p.log) return sub(g, mul(exp(y), sum(g, -1, { keepDims: true })));
    return mul(y, sub(g, sum(mul(g, y), -1, { keepDims: true })));
  });
}

function checkIndices(op: string, idx: Tensor, what: string): void {
  if (idx.dtype !== 'int32')
    throw new TensorError(op, `${what} must be an int32 tensor, got ${idx.dtype} ${formatShape(idx.shape)}`);
}

/** Rows of table [V, D] picked by integer indices [...] -> [..., D] (embedding lookup). */
export function gather(table: Tensor, indices: Tensor): Tensor {
  const op = 'gather';
  const backend = backendOf(op, table, indices);
  checkIndices(op, indices, 'indices');
  if (table.rank !== 2) throw new ShapeError(op, `table must be [vocab, dim], got ${formatShape(table.shape)}`);
  const [V, D] = table.shape as [number, number];
  const out = wrap(backend, backend.gather(table.storage, V, D, indices.storage, indices.size), [...indices.shape, D]);
  return record(op, [table, indices], out);
}

/** gather's adjoint: sums rows of src [..., D] into a [vocab, D] table at the given indices. */
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

/** One-hot rows [..., depth] for integer indices (not differentiable). */
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

/** Per-row negative log-likelihood [...] of integer targets under softmax(logits [..., V]). */
export function crossEntropyRows(logits: Tensor, targets: Tensor): Tensor {
  const op = 'crossEntropy';
  const backend = backendOf(op, logits, targets);
  const { rows, vocab } = checkCrossEntropy(op, logits, targets);
  const fused = backend.fused.crossEntropy;
  if (fused) {
    const out = wrap(backend, fused(logits.storage, targets.storage, rows, vocab), logits.shape.slice(0, -1));
    return record('crossEntropyRows', [logits, targets], out, { rows, vocab });
  }
  return composite([logits, targets], () => {
    const logp = logSoftmaxComposite(logits);
    const hot = oneHot(targets, vocab);
    return mul(sum(mul(hot, logp), -1), -1);
  });
}

/** Mean cross-entropy over all rows: the language-model loss. */
export function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  return composite([logits, targets], () => {
    const rowsLoss = crossEntropyRows(logits, targets);
    return mul(sum(rowsLoss), 1 / rowsLoss.size);
  });
}

/** dlogits for per-row losses weighted by dLoss [rows] (used by autograd; not recorded). */
export function crossEntropyBackward(logits: Tensor, targets: Tensor, dLoss: Tensor): Tensor {
  const backend = backendOf('crossEntropyBackward', logits, targets, dLoss);
  const vocab = logits.shape[logits.rank - 1]!;
  const rows = logits.size / vocab;
  const fused = backend.fused.crossEntropyBackward;
  if (fused) return wrap(backend, fused(logits.storage, targets.storage, dLoss.storage, rows, vocab), logits.shape);
  return composite([logits, targets, dLoss], () => {
    const p = softmaxComposite(logits);
    const g = sub(p, oneHot(targets, vocab));
    return mul(g, dLoss.reshape([...dLoss.shape, 1]));
  });
}
