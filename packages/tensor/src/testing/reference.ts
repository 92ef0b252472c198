/**
 * Naive float64 reference implementations of every Backend primitive and fused kernel, written independently of
 * the CPU kernels (straight from the definitions, no fast paths) so that they can serve as the oracle for any
 * backend, the CPU backend included. Each returns the values and, where the op reduces, `mag`: the same
 * computation over absolute values (e.g. sum |a||b| for matmul), which scales the error bound.
 */
import type { AdamWParams, BinaryOp, MatmulParams, ReduceOp, SoftmaxParams, UnaryOp } from '../backend.js';

import { broadcastShapes, sizeOf, stridesOf } from '../shape.js';

type Values = ArrayLike<number>;

const GELU_C = Math.sqrt(2 / Math.PI);

/**
 * One unary op on one value, by its definition.
 *
 * @param op - The op.
 * @param v - The value.
 * @returns op(v) in float64.
 */
export function unaryRef(op: UnaryOp, v: number): number {
  switch (op) {
    case 'neg':
      return -v;
    case 'exp':
      return Math.exp(v);
    case 'log':
      return Math.log(v);
    case 'sqrt':
      return Math.sqrt(v);
    case 'rsqrt':
      return 1 / Math.sqrt(v);
    case 'tanh':
      return Math.tanh(v);
    case 'gelu':
      return 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v ** 3)));
    case 'geluGrad': {
      // d/dv of the tanh-approximate GELU, by the product rule
      const u = GELU_C * (v + 0.044715 * v ** 3);
      const du = GELU_C * (1 + 3 * 0.044715 * v * v);
      const th = Math.tanh(u);
      return 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * du;
    }
    case 'silu':
      return v * sigmoid(v);
    case 'siluGrad':
      return sigmoid(v) + v * sigmoid(v) * (1 - sigmoid(v));
    case 'relu':
      return Number.isNaN(v) ? v : Math.max(v, 0);
    case 'sigmoid':
      return sigmoid(v);
    case 'abs':
      return Math.abs(v);
    case 'square':
      return v * v;
    case 'reciprocal':
      return 1 / v;
    case 'step':
      return Number.isNaN(v) ? v : v > 0 ? 1 : 0;
  }
}

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/**
 * A binary op as a function of two numbers.
 *
 * @param op - The op.
 * @returns The function (eq and gt give 1 or 0).
 */
export function binaryFnRef(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'add':
      return (a, b) => a + b;
    case 'sub':
      return (a, b) => a - b;
    case 'mul':
      return (a, b) => a * b;
    case 'div':
      return (a, b) => a / b;
    case 'pow':
      return (a, b) => a ** b;
    case 'maximum':
      return (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.max(a, b));
    case 'minimum':
      return (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.min(a, b));
    case 'eq':
      return (a, b) => (a === b ? 1 : 0);
    case 'gt':
      return (a, b) => (a > b ? 1 : 0);
  }
}

/** Element `flat` of the broadcast output, read from an operand of `shape` (right-aligned, size-1 dims repeat). */
function broadcastIndex(flat: number, outShape: readonly number[], shape: readonly number[]): number {
  const outStr = stridesOf(outShape);
  const str = stridesOf(shape);
  const off = outShape.length - shape.length;
  let idx = 0;
  for (let d = 0; d < outShape.length; d++) {
    const i = Math.floor(flat / outStr[d]!) % outShape[d]!;
    if (d >= off && shape[d - off] !== 1) idx += i * str[d - off]!;
  }
  return idx;
}

/**
 * NumPy broadcasting of any two-argument function, element by element.
 *
 * @param f - The function.
 * @param a - The first operand's values.
 * @param aShape - Its shape.
 * @param b - The second operand's values.
 * @param bShape - Its shape.
 * @returns The broadcast result.
 */
export function broadcastRef(
  f: (a: number, b: number) => number,
  a: Values,
  aShape: readonly number[],
  b: Values,
  bShape: readonly number[],
): { values: Float64Array; shape: number[] } {
  const shape = broadcastShapes('reference', aShape, bShape);
  const n = sizeOf(shape);
  const values = new Float64Array(n);
  for (let o = 0; o < n; o++) values[o] = f(a[broadcastIndex(o, shape, aShape)]!, b[broadcastIndex(o, shape, bShape)]!);
  return { values, shape };
}

/**
 * x viewed as [outer, len, inner], reduced over len.
 *
 * @param op - sum or max.
 * @param x - The values.
 * @param outer - Product of the axes before the reduced one.
 * @param len - Length of the reduced axis.
 * @param inner - Product of the axes after it.
 * @returns The result and its error scale.
 */
export function reduceRef(
  op: ReduceOp,
  x: Values,
  outer: number,
  len: number,
  inner: number,
): { values: Float64Array; mag: Float64Array } {
  const values = new Float64Array(outer * inner);
  const mag = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = op === 'sum' ? 0 : Number.NEGATIVE_INFINITY;
      let m = 0;
      for (let k = 0; k < len; k++) {
        const v = x[(o * len + k) * inner + i]!;
        acc = op === 'sum' ? acc + v : Number.isNaN(acc) || Number.isNaN(v) ? Number.NaN : Math.max(acc, v);
        m += Math.abs(v);
      }
      values[o * inner + i] = acc;
      mag[o * inner + i] = m;
    }
  }
  return { values, mag };
}

/**
 * Triple-loop batched matmul following MatmulParams literally.
 *
 * @param a - A's values.
 * @param b - B's values.
 * @param p - Sizes, transposes and batch strides.
 * @returns C and its error scale (sum |a||b|).
 */
export function matmulRef(a: Values, b: Values, p: MatmulParams): { values: Float64Array; mag: Float64Array } {
  const { batch, M, K, N, transA, transB, aBatchStride, bBatchStride } = p;
  const values = new Float64Array(batch * M * N);
  const mag = new Float64Array(batch * M * N);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        let m = 0;
        for (let k = 0; k < K; k++) {
          const av = a[t * aBatchStride + (transA ? k * M + i : i * K + k)]!;
          const bv = b[t * bBatchStride + (transB ? j * K + k : k * N + j)]!;
          s += av * bv;
          m += Math.abs(av * bv);
        }
        values[(t * M + i) * N + j] = s;
        mag[(t * M + i) * N + j] = m;
      }
    }
  }
  return { values, mag };
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return idx;
}

function ravel(idx: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + idx[d]!;
  return flat;
}

/**
 * out[i_0..] = x[i_perm...]: output dim d is input dim perm[d].
 *
 * @param x - The values.
 * @param shape - Their shape.
 * @param perm - The axis order.
 * @returns The permuted values.
 */
export function permuteRef(x: Values, shape: readonly number[], perm: readonly number[]): Float64Array {
  const outShape = perm.map((p) => shape[p]!);
  const out = new Float64Array(sizeOf(shape));
  for (let o = 0; o < out.length; o++) {
    const oi = unravel(o, outShape);
    const xi = new Array<number>(shape.length);
    perm.forEach((p, d) => {
      xi[p] = oi[d]!;
    });
    out[o] = x[ravel(xi, shape)]!;
  }
  return out;
}

/**
 * The box [begin, begin + size) of x, by its definition.
 *
 * @param x - The values.
 * @param shape - Their shape.
 * @param begin - The box's first index per axis.
 * @param size - The box's size per axis.
 * @returns The box's values.
 */
export function sliceRef(
  x: Values,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
): Float64Array {
  const out = new Float64Array(sizeOf(size));
  for (let o = 0; o < out.length; o++) {
    const idx = unravel(o, size).map((v, d) => v + begin[d]!);
    out[o] = x[ravel(idx, shape)]!;
  }
  return out;
}

/**
 * x placed at `begin` inside zeros of `outShape`, by its definition.
 *
 * @param x - The values.
 * @param shape - Their shape.
 * @param begin - Where x goes.
 * @param outShape - The output's shape.
 * @returns The padded values.
 */
export function padRef(
  x: Values,
  shape: readonly number[],
  begin: readonly number[],
  outShape: readonly number[],
): Float64Array {
  const out = new Float64Array(sizeOf(outShape));
  for (let i = 0; i < sizeOf(shape); i++) {
    const idx = unravel(i, shape).map((v, d) => v + begin[d]!);
    out[ravel(idx, outShape)] = x[i]!;
  }
  return out;
}

/**
 * Tensors joined along an axis, by its definition.
 *
 * @param xs - The values of each tensor.
 * @param shapes - Their shapes.
 * @param axis - The axis.
 * @returns The joined values.
 */
export function concatRef(xs: readonly Values[], shapes: readonly (readonly number[])[], axis: number): Float64Array {
  const outShape = [...shapes[0]!];
  outShape[axis] = shapes.reduce((acc, s) => acc + s[axis]!, 0);
  const out = new Float64Array(sizeOf(outShape));
  let offset = 0;
  xs.forEach((x, t) => {
    const shape = shapes[t]!;
    for (let i = 0; i < sizeOf(shape); i++) {
      const idx = unravel(i, shape);
      idx[axis]! += offset;
      out[ravel(idx, outShape)] = x[i]!;
    }
    offset += shape[axis]!;
  });
  return out;
}

/**
 * Rows of a table picked by indices, by its definition.
 *
 * @param table - The table [vocab, dim].
 * @param dim - Row width.
 * @param indices - The row indices.
 * @returns The rows, [n, dim].
 */
export function gatherRef(table: Values, dim: number, indices: Values): Float64Array {
  const out = new Float64Array(indices.length * dim);
  for (let i = 0; i < indices.length; i++)
    for (let j = 0; j < dim; j++) out[i * dim + j] = table[indices[i]! * dim + j]!;
  return out;
}

/**
 * gather's adjoint, by its definition.
 *
 * @param src - The rows [n, dim].
 * @param dim - Row width.
 * @param indices - The row indices.
 * @param vocab - Rows of the output.
 * @returns The sums, their error scale, and how many rows went into each element.
 */
export function scatterAddRef(
  src: Values,
  dim: number,
  indices: Values,
  vocab: number,
): { values: Float64Array; mag: Float64Array; count: Float64Array } {
  const values = new Float64Array(vocab * dim);
  const mag = new Float64Array(vocab * dim);
  const count = new Float64Array(vocab * dim);
  for (let i = 0; i < indices.length; i++) {
    for (let j = 0; j < dim; j++) {
      const o = indices[i]! * dim + j;
      values[o]! += src[i * dim + j]!;
      mag[o]! += Math.abs(src[i * dim + j]!);
      count[o]!++;
    }
  }
  return { values, mag, count };
}

/**
 * Number of keys row r may attend to under SoftmaxParams' causal rule (cols when unmasked).
 *
 * @param r - A row.
 * @param p - The softmax layout.
 * @returns The number of keys.
 */
export function allowedKeys(r: number, p: SoftmaxParams): number {
  if (p.causalQueryLen === 0) return p.cols;
  return Math.min(p.cols, (r % p.causalQueryLen) + (p.cols - p.causalQueryLen) + 1);
}

/**
 * Softmax or log-softmax per row; masked entries are 0 or -Infinity.
 *
 * @param x - The values.
 * @param p - The layout.
 * @returns The softmax (or log-softmax) of each row.
 */
export function softmaxRef(x: Values, p: SoftmaxParams): Float64Array {
  const out = new Float64Array(p.rows * p.cols);
  for (let r = 0; r < p.rows; r++) {
    const lim = allowedKeys(r, p);
    const row = Array.from({ length: lim }, (_, j) => x[r * p.cols + j]!);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((acc, v) => acc + Math.exp(v - m), 0));
    for (let j = 0; j < p.cols; j++) {
      const masked = j >= lim;
      out[r * p.cols + j] = p.log
        ? masked
          ? Number.NEGATIVE_INFINITY
          : row[j]! - lse
        : masked
          ? 0
          : Math.exp(row[j]! - lse);
    }
  }
  return out;
}

/**
 * Vector-Jacobian product of softmax / log-softmax at output y, from the Jacobian written out entry by entry
 * (dy_i/dx_j = y_i (delta_ij - y_j), or delta_ij - softmax_j for log), restricted to the unmasked keys.
 *
 * @param y - softmax's output.
 * @param dy - The output gradient.
 * @param p - The layout.
 * @returns The input gradient and its error scale.
 */
export function softmaxBackwardRef(
  y: Values,
  dy: Values,
  p: SoftmaxParams,
): { values: Float64Array; mag: Float64Array } {
  const values = new Float64Array(p.rows * p.cols);
  const mag = new Float64Array(p.rows * p.cols);
  for (let r = 0; r < p.rows; r++) {
    const lim = allowedKeys(r, p);
    const base = r * p.cols;
    const s = (j: number) => (p.log ? Math.exp(y[base + j]!) : y[base + j]!);
    for (let j = 0; j < lim; j++) {
      let acc = 0;
      let m = 0;
      for (let i = 0; i < lim; i++) {
        const jac = p.log ? (i === j ? 1 : 0) - s(j) : s(i) * ((i === j ? 1 : 0) - s(j));
        acc += dy[base + i]! * jac;
        m += Math.abs(dy[base + i]!) * (p.log ? (i === j ? 1 : 0) + s(j) : s(i) * ((i === j ? 1 : 0) + s(j)));
      }
      values[base + j] = acc;
      mag[base + j] = m;
    }
  }
  return { values, mag };
}

/**
 * Per-row loss logsumexp(x) - x[t] and the per-row magnitude scale (|lse| + |x[t]| + max|x|).
 *
 * @param logits - [rows, vocab] logits.
 * @param targets - The target ids.
 * @param rows - Number of rows.
 * @param vocab - Row length.
 * @returns The per-row losses and their error scale.
 */
export function crossEntropyRef(
  logits: Values,
  targets: Values,
  rows: number,
  vocab: number,
): { values: Float64Array; mag: Float64Array } {
  const values = new Float64Array(rows);
  const mag = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: vocab }, (_, j) => logits[r * vocab + j]!);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((acc, v) => acc + Math.exp(v - m), 0));
    const xt = row[targets[r]!]!;
    values[r] = lse - xt;
    mag[r] = Math.abs(lse) + Math.abs(xt) + Math.max(...row.map(Math.abs));
  }
  return { values, mag };
}

/**
 * dlogits[r] = dLoss[r] (softmax(logits[r]) - onehot(t[r])), by its definition.
 *
 * @param logits - [rows, vocab] logits.
 * @param targets - The target ids.
 * @param dLoss - The loss gradient per row.
 * @param rows - Number of rows.
 * @param vocab - Row length.
 * @returns The logits' gradient.
 */
export function crossEntropyBackwardRef(
  logits: Values,
  targets: Values,
  dLoss: Values,
  rows: number,
  vocab: number,
): Float64Array {
  const out = new Float64Array(rows * vocab);
  const p = softmaxRef(logits, { rows, cols: vocab, log: false, causalQueryLen: 0 });
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < vocab; j++) {
      out[r * vocab + j] = dLoss[r]! * (p[r * vocab + j]! - (j === targets[r] ? 1 : 0));
    }
  }
  return out;
}

/**
 * One AdamW step (decoupled weight decay, bias-corrected moments), by its definition.
 *
 * @param param - The parameter.
 * @param grad - Its gradient.
 * @param m - The first moment.
 * @param v - The second moment.
 * @param h - The step's hyperparameters.
 * @returns The new parameter and moments, and the update applied.
 */
export function adamwRef(
  param: Values,
  grad: Values,
  m: Values,
  v: Values,
  h: AdamWParams,
): { param: Float64Array; m: Float64Array; v: Float64Array; update: Float64Array } {
  const n = param.length;
  const out = {
    param: new Float64Array(n),
    m: new Float64Array(n),
    v: new Float64Array(n),
    update: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const gi = grad[i]! * h.gradScale;
    const mi = h.beta1 * m[i]! + (1 - h.beta1) * gi;
    const vi = h.beta2 * v[i]! + (1 - h.beta2) * gi * gi;
    const mhat = mi / (1 - h.beta1 ** h.step);
    const vhat = vi / (1 - h.beta2 ** h.step);
    const upd = mhat / (Math.sqrt(vhat) + h.eps);
    out.m[i] = mi;
    out.v[i] = vi;
    out.update[i] = upd;
    out.param[i] = param[i]! - h.lr * (upd + h.weightDecay * param[i]!);
  }
  return out;
}
