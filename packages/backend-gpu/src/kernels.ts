/**
 * gpu.js kernel sources, as strings so no TypeScript or test transform can touch them.
 *
 * Rules every kernel follows (docs/gpujs-backend.md §4):
 * - shapes and strides are Integer arguments (one compile serves every shape; dynamicOutput);
 * - index arithmetic is inlined into subscripts: a `const` local is always f32 (no. 4), `x | 0` forces i32;
 * - `/` and `%` are f32 (no. 6): only grid coordinates below 2^22 are ever divided, as floor((v + 0.5) / d),
 *   which stays exact even where the driver divides through a reciprocal;
 * - loops bounded by arguments rely on loopMaxIterations (no. 3), and no two loops share a variable (no. 7);
 * - at most 7 array arguments (no. 8); no NaN/Infinity literals (no. 9/11): they come in as Float arguments.
 */
import { type BinaryOp, UNARY_OPS, type UnaryOp } from '@tinyformer/tensor';

export interface KernelDef {
  /** 1, 2 or 3: the output rank is fixed once a kernel is built */
  rank: 1 | 2 | 3;
  source: string;
  args: Record<string, 'Array' | 'Integer' | 'Float'>;
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** A unary op's code in the kernel below: its index in the tensor package's one table of unary ops. */
export const UNARY_CODES = Object.fromEntries(UNARY_OPS.map((op, i) => [op, i])) as Record<UnaryOp, number>;

export const BINARY_CODES: Record<BinaryOp, number> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  pow: 4,
  maximum: 5,
  minimum: 6,
  eq: 7,
  gt: 8,
};

// tanh is clamped: some drivers compute it as (e^2x - 1) / (e^2x + 1), which is inf/inf = NaN for large x
const TANH = (u: string) => `Math.tanh(Math.min(Math.max(${u}, -15.0), 15.0))`;

/** Each unary op's statement on the input `v` (the mapped type makes a missing op a compile error). */
const UNARY_STATEMENTS: Record<UnaryOp, string> = {
  neg: 'return -v;',
  exp: 'return Math.exp(v);',
  log: 'return Math.log(v);',
  sqrt: 'return Math.sqrt(v);',
  rsqrt: 'return 1.0 / Math.sqrt(v);',
  tanh: `return ${TANH('v')};`,
  gelu: `return 0.5 * v * (1.0 + ${TANH(`${GELU_C} * (v + 0.044715 * v * v * v)`)});`,
  silu: 'return v / (1.0 + Math.exp(-v));',
  relu: 'if (v > 0.0) { return v; } return 0.0;',
  sigmoid: 'return 1.0 / (1.0 + Math.exp(-v));',
  abs: 'return Math.abs(v);',
  square: 'return v * v;',
  reciprocal: 'return 1.0 / v;',
  geluGrad: `const t = ${TANH(`${GELU_C} * (v + 0.044715 * v * v * v)`)};
    return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * ${GELU_C} * (1.0 + 3.0 * 0.044715 * v * v);`,
  siluGrad: 'const s = 1.0 / (1.0 + Math.exp(-v)); return s * (1.0 + v * (1.0 - s));',
  step: 'if (v > 0.0) { return 1.0; } return 0.0;',
};

// one branch per op, numbered by UNARY_CODES; the last op is the fall-through
const UNARY_BODY = `
  const v = x[this.thread.x];
${UNARY_OPS.map((op, i) =>
  i === UNARY_OPS.length - 1 ? `  ${UNARY_STATEMENTS[op]}` : `  if (op == ${i}) { ${UNARY_STATEMENTS[op]} }`,
).join('\n')}`;

/** `p` and `q` are the operands (f32 locals), `op` the BINARY_CODES value. */
const BINARY_BODY = `
  if (op == 0) { return p + q; }
  if (op == 1) { return p - q; }
  if (op == 2) { return p * q; }
  if (op == 3) { return p / q; }
  if (op == 4) {
    if (q == 0.0) { return 1.0; }
    if (p < 0.0 && Math.floor(q) == q) {
      const w = Math.pow(-p, q);
      if (Math.abs(q % 2.0) == 1.0) { return -w; }
      return w;
    }
    return Math.pow(p, q);
  }
  if (op == 5) { if (p > q) { return p; } return q; }
  if (op == 6) { if (p < q) { return p; } return q; }
  if (op == 7) { if (p == q) { return 1.0; } return 0.0; }
  if (p > q) { return 1.0; }
  return 0.0;`;

/** floor(v / d) for a non-negative integer v < 2^22, as i32 */
const Q = (v: string, d: string) => `(Math.floor((${v} + 0.5) / ${d}) | 0)`;
/** v % d for the same range, as i32 */
const R = (v: string, d: string) => `(${v} - ${Q(v, d)} * ${d})`;

/** The six grid coordinates [d0..d5] (see grid.ts): x = d5, y = (d3, d4), z = (d0, d1, d2). */
const GRID_IDX = [
  Q(Q('this.thread.z', 'D2'), 'D1'),
  R(Q('this.thread.z', 'D2'), 'D1'),
  R('this.thread.z', 'D2'),
  Q('this.thread.y', 'D4'),
  R('this.thread.y', 'D4'),
  'this.thread.x',
];
const GRID_DIM_ARGS = { D1: 'Integer', D2: 'Integer', D4: 'Integer' } as const;

function offset(prefix: string): string {
  return GRID_IDX.map((idx, k) => `${idx} * ${prefix}${k}`).join(' + ');
}

function intArgs(prefix: string): Record<string, 'Integer'> {
  const out: Record<string, 'Integer'> = {};
  for (let k = 0; k < 6; k++) out[`${prefix}${k}`] = 'Integer';
  return out;
}

function fn(params: Record<string, string>, body: string): string {
  return `function (${Object.keys(params).join(', ')}) {${body}\n}`;
}

function def(rank: 1 | 2 | 3, args: KernelDef['args'], body: string): KernelDef {
  return { rank, args, source: fn(args, body) };
}

/** Reads a row-statistics loop limit: keys j < limit for row r under the causal rule of SoftmaxParams. */
const CAUSAL_LAST = (r: string) => `${R(r, 'tq')} + cols - tq`;

export const KERNELS = {
  fill: def(1, { value: 'Float' }, 'return value;'),

  unary: def(1, { x: 'Array', op: 'Integer' }, UNARY_BODY),

  /** same shape, or a scalar operand (stride 0) */
  binaryFlat: def(
    1,
    { a: 'Array', b: 'Array', op: 'Integer', sa: 'Integer', sb: 'Integer' },
    `
  const p = a[this.thread.x * sa];
  const q = b[this.thread.x * sb];${BINARY_BODY}`,
  ),

  binaryGrid: def(
    3,
    { a: 'Array', b: 'Array', op: 'Integer', ...GRID_DIM_ARGS, ...intArgs('as'), ...intArgs('bs') },
    `
  const p = a[${offset('as')}];
  const q = b[${offset('bs')}];${BINARY_BODY}`,
  ),

  /** out[grid] = x[base + sum idx_k * s_k]: permute and slice */
  gather6: def(
    3,
    { x: 'Array', base: 'Integer', ...GRID_DIM_ARGS, ...intArgs('s') },
    `
  return x[base + ${offset('s')}];`,
  ),

  /** out[grid] = x[box-relative index] inside the box, else prev[flat] (hasPrev) or 0: pad and concat */
  place6: def(
    3,
    {
      x: 'Array',
      prev: 'Array',
      hasPrev: 'Integer',
      OX: 'Integer',
      OY: 'Integer',
      ...GRID_DIM_ARGS,
      ...intArgs('b'),
      ...intArgs('n'),
      ...intArgs('s'),
    },
    `
  if (${GRID_IDX.map((idx, k) => `${idx} >= b${k} && ${idx} < b${k} + n${k}`).join(' && ')}) {
    return x[${GRID_IDX.map((idx, k) => `(${idx} - b${k}) * s${k}`).join(' + ')}];
  }
  if (hasPrev > 0) { return prev[this.thread.x + OX * (this.thread.y + OY * this.thread.z)]; }
  return 0.0;`,
  ),

  /**
   * Chunked reduction of x viewed as [outer, len, inner]: thread (i, p, o) reduces rows p*C .. p*C+C-1.
   * pOnZ = 0: output [inner, P, outer] (o on z); pOnZ = 1: output [inner, outer, P] (p on z).
   */
  reduce: def(
    3,
    { x: 'Array', op: 'Integer', len: 'Integer', inner: 'Integer', C: 'Integer', pOnZ: 'Integer' },
    `
  let acc = x[(this.thread.z * (1 - pOnZ) + this.thread.y * pOnZ) * len * inner + (this.thread.y * (1 - pOnZ) + this.thread.z * pOnZ) * C * inner + this.thread.x];
  if (op == 0) { acc = 0.0; }
  for (let k = 0; k < C; k++) {
    if ((this.thread.y * (1 - pOnZ) + this.thread.z * pOnZ) * C + k >= len) { break; }
    const v = x[(this.thread.z * (1 - pOnZ) + this.thread.y * pOnZ) * len * inner + ((this.thread.y * (1 - pOnZ) + this.thread.z * pOnZ) * C + k) * inner + this.thread.x];
    if (op == 0) { acc += v; } else { if (v > acc) { acc = v; } }
  }
  return acc;`,
  ),

  /** rows reduced along contiguous memory (inner = 1): thread (o, p), output [outer, P] = memory [P, outer] */
  reduceRows: def(
    2,
    { x: 'Array', op: 'Integer', len: 'Integer', C: 'Integer' },
    `
  let acc = x[this.thread.x * len + this.thread.y * C];
  if (op == 0) { acc = 0.0; }
  for (let k = 0; k < C; k++) {
    if (this.thread.y * C + k >= len) { break; }
    const v = x[this.thread.x * len + this.thread.y * C + k];
    if (op == 0) { acc += v; } else { if (v > acc) { acc = v; } }
  }
  return acc;`,
  ),

  /** C[z][i][j] = sum_k A[z*sa + i*ai + k*ak] * B[z*sb + k*bk + j*bj], output [N, M, batch] */
  matmul: def(
    3,
    {
      a: 'Array',
      b: 'Array',
      K: 'Integer',
      ai: 'Integer',
      ak: 'Integer',
      bk: 'Integer',
      bj: 'Integer',
      sa: 'Integer',
      sb: 'Integer',
    },
    `
  let s = 0.0;
  for (let k = 0; k < K; k++) {
    s += a[this.thread.z * sa + this.thread.y * ai + k * ak] * b[this.thread.z * sb + k * bk + this.thread.x * bj];
  }
  return s;`,
  ),

  /** log-sum-exp of each row's allowed keys (causal when tq > 0), one thread per row */
  rowLse: def(
    1,
    { x: 'Array', cols: 'Integer', tq: 'Integer' },
    `
  let m = x[this.thread.x * cols];
  for (let j = 1; j < cols; j++) {
    if (tq > 0 && j > ${CAUSAL_LAST('this.thread.x')}) { break; }
    const v = x[this.thread.x * cols + j];
    if (v > m) { m = v; }
  }
  let s = 0.0;
  for (let j2 = 0; j2 < cols; j2++) {
    if (tq > 0 && j2 > ${CAUSAL_LAST('this.thread.x')}) { break; }
    s += Math.exp(x[this.thread.x * cols + j2] - m);
  }
  return m + Math.log(s);`,
  ),

  /** output [cols, rows]: softmax (or log-softmax) from the row lse; masked entries 0 (or negInf) */
  softmaxApply: def(
    2,
    { x: 'Array', lse: 'Array', cols: 'Integer', tq: 'Integer', isLog: 'Integer', negInf: 'Float' },
    `
  if (tq > 0 && this.thread.x > ${CAUSAL_LAST('this.thread.y')}) {
    if (isLog > 0) { return negInf; }
    return 0.0;
  }
  const z = x[this.thread.y * cols + this.thread.x] - lse[this.thread.y];
  if (isLog > 0) { return z; }
  return Math.exp(z);`,
  ),

  /** per row: sum(dy * y) (softmax) or sum(dy) (log-softmax) over the allowed keys */
  softmaxBwdDot: def(
    1,
    { y: 'Array', dy: 'Array', cols: 'Integer', tq: 'Integer', isLog: 'Integer' },
    `
  let s = 0.0;
  for (let j = 0; j < cols; j++) {
    if (tq > 0 && j > ${CAUSAL_LAST('this.thread.x')}) { break; }
    if (isLog > 0) { s += dy[this.thread.x * cols + j]; } else { s += dy[this.thread.x * cols + j] * y[this.thread.x * cols + j]; }
  }
  return s;`,
  ),

  softmaxBwdApply: def(
    2,
    { y: 'Array', dy: 'Array', dot: 'Array', cols: 'Integer', tq: 'Integer', isLog: 'Integer' },
    `
  if (tq > 0 && this.thread.x > ${CAUSAL_LAST('this.thread.y')}) { return 0.0; }
  const yv = y[this.thread.y * cols + this.thread.x];
  const g = dy[this.thread.y * cols + this.thread.x];
  if (isLog > 0) { return g - Math.exp(yv) * dot[this.thread.y]; }
  return yv * (g - dot[this.thread.y]);`,
  ),

  /** loss per row; target < 0 is ignored (0), target >= vocab gives NaN */
  crossEntropy: def(
    1,
    { logits: 'Array', targets: 'Array', lse: 'Array', vocab: 'Integer', nan: 'Float' },
    `
  const t = targets[this.thread.x];
  if (t < 0.0) { return 0.0; }
  if (t >= vocab) { return nan; }
  return lse[this.thread.x] - logits[this.thread.x * vocab + (targets[this.thread.x] | 0)];`,
  ),

  /** output [vocab, rows]: dLoss[r] * (softmax - onehot) */
  crossEntropyBwd: def(
    2,
    { logits: 'Array', targets: 'Array', lse: 'Array', dLoss: 'Array', vocab: 'Integer', ds: 'Integer' },
    `
  const t = targets[this.thread.y];
  if (t < 0.0) { return 0.0; }
  let p = Math.exp(logits[this.thread.y * vocab + this.thread.x] - lse[this.thread.y]);
  if (this.thread.x == (targets[this.thread.y] | 0)) { p = p - 1.0; }
  return dLoss[this.thread.y * ds] * p;`,
  ),

  /** per row mean (LayerNorm) */
  rowMean: def(
    1,
    { x: 'Array', dim: 'Integer' },
    `
  let s = 0.0;
  for (let j = 0; j < dim; j++) { s += x[this.thread.x * dim + j]; }
  return s / dim;`,
  ),

  /** per row 1/sqrt(mean((x - mean)^2) + eps); RMSNorm passes hasMean = 0 */
  rowRstd: def(
    1,
    { x: 'Array', mean: 'Array', dim: 'Integer', hasMean: 'Integer', eps: 'Float' },
    `
  let mu = 0.0;
  if (hasMean > 0) { mu = mean[this.thread.x]; }
  let s = 0.0;
  for (let j = 0; j < dim; j++) {
    const d = x[this.thread.x * dim + j] - mu;
    s += d * d;
  }
  return 1.0 / Math.sqrt(s / dim + eps);`,
  ),

  /** output [dim, rows]: (x - mean) * rstd * g + b, each part optional */
  normApply: def(
    2,
    {
      x: 'Array',
      mean: 'Array',
      rstd: 'Array',
      g: 'Array',
      b: 'Array',
      dim: 'Integer',
      hasMean: 'Integer',
      hasG: 'Integer',
      hasB: 'Integer',
    },
    `
  let v = x[this.thread.y * dim + this.thread.x];
  if (hasMean > 0) { v = v - mean[this.thread.y]; }
  v = v * rstd[this.thread.y];
  if (hasG > 0) { v = v * g[this.thread.x]; }
  if (hasB > 0) { v = v + b[this.thread.x]; }
  return v;`,
  ),

  /** per row mean(dxhat) (what = 0) or mean(dxhat * xhat) (what = 1), dxhat = dy * g */
  normBwdRow: def(
    1,
    {
      dy: 'Array',
      x: 'Array',
      g: 'Array',
      mean: 'Array',
      rstd: 'Array',
      dim: 'Integer',
      hasG: 'Integer',
      hasMean: 'Integer',
      what: 'Integer',
    },
    `
  let mu = 0.0;
  if (hasMean > 0) { mu = mean[this.thread.x]; }
  const r = rstd[this.thread.x];
  let s = 0.0;
  for (let j = 0; j < dim; j++) {
    let d = dy[this.thread.x * dim + j];
    if (hasG > 0) { d = d * g[j]; }
    if (what > 0) { d = d * (x[this.thread.x * dim + j] - mu) * r; }
    s += d;
  }
  return s / dim;`,
  ),

  /** output [dim, rows]: dx = rstd * (dxhat - m1 - xhat * m2) */
  normBwdDx: def(
    2,
    {
      dy: 'Array',
      x: 'Array',
      g: 'Array',
      mean: 'Array',
      rstd: 'Array',
      m1: 'Array',
      m2: 'Array',
      dim: 'Integer',
      hasG: 'Integer',
      hasMean: 'Integer',
    },
    `
  let mu = 0.0;
  let c1 = 0.0;
  if (hasMean > 0) { mu = mean[this.thread.y]; c1 = m1[this.thread.y]; }
  const r = rstd[this.thread.y];
  let d = dy[this.thread.y * dim + this.thread.x];
  if (hasG > 0) { d = d * g[this.thread.x]; }
  return r * (d - c1 - (x[this.thread.y * dim + this.thread.x] - mu) * r * m2[this.thread.y]);`,
  ),

  /**
   * Column sums for dg (what = 1: dy * xhat) and db (what = 0: dy) in chunks of C rows.
   * Output [dim, P] = memory [P, dim]; a second pass sums the P partials.
   */
  normColSum: def(
    2,
    {
      dy: 'Array',
      x: 'Array',
      mean: 'Array',
      rstd: 'Array',
      rows: 'Integer',
      dim: 'Integer',
      C: 'Integer',
      hasMean: 'Integer',
      what: 'Integer',
    },
    `
  let s = 0.0;
  for (let k = 0; k < C; k++) {
    if (this.thread.y * C + k >= rows) { break; }
    let d = dy[(this.thread.y * C + k) * dim + this.thread.x];
    if (what > 0) {
      let mu = 0.0;
      if (hasMean > 0) { mu = mean[this.thread.y * C + k]; }
      d = d * (x[(this.thread.y * C + k) * dim + this.thread.x] - mu) * rstd[this.thread.y * C + k];
    }
    s += d;
  }
  return s;`,
  ),

  /** output [dim, n]: rows of table; an index outside [0, vocab) gives NaN */
  gather: def(
    2,
    { table: 'Array', idx: 'Array', dim: 'Integer', vocab: 'Integer', nan: 'Float' },
    `
  const v = idx[this.thread.y];
  if (v < 0.0 || v >= vocab) { return nan; }
  return table[(idx[this.thread.y] | 0) * dim + this.thread.x];`,
  ),

  /** output [dim, vocab]: sums src rows listed for v in a CSR index built on the host (order, offsets) */
  scatterCsr: def(
    2,
    { src: 'Array', order: 'Array', offsets: 'Array', dim: 'Integer' },
    `
  let s = 0.0;
  for (let k = 0; k < 16777216; k++) {
    if (k >= offsets[this.thread.y + 1] - offsets[this.thread.y]) { break; }
    s += src[(order[(offsets[this.thread.y] | 0) + k] | 0) * dim + this.thread.x];
  }
  return s;`,
  ),

  /** output [dim, vocab]: scans every index (when the indices exist only on the device) */
  scatterScan: def(
    2,
    { src: 'Array', idx: 'Array', n: 'Integer', dim: 'Integer' },
    `
  let s = 0.0;
  for (let i = 0; i < n; i++) {
    if (idx[i] == this.thread.y) { s += src[i * dim + this.thread.x]; }
  }
  return s;`,
  ),

  // 1 - beta comes in from the host: in f32, 1 - 0.999 is off by 1.3e-5 relative
  adamM: def(
    1,
    { g: 'Array', m: 'Array', beta1: 'Float', oneMinusBeta1: 'Float', gradScale: 'Float' },
    `
  return beta1 * m[this.thread.x] + oneMinusBeta1 * g[this.thread.x] * gradScale;`,
  ),

  adamV: def(
    1,
    { g: 'Array', v: 'Array', beta2: 'Float', oneMinusBeta2: 'Float', gradScale: 'Float' },
    `
  const gi = g[this.thread.x] * gradScale;
  return beta2 * v[this.thread.x] + oneMinusBeta2 * gi * gi;`,
  ),

  adamP: def(
    1,
    { p: 'Array', m: 'Array', v: 'Array', lr: 'Float', bc1: 'Float', bc2: 'Float', eps: 'Float', decay: 'Float' },
    `
  return p[this.thread.x] * decay - (lr * (m[this.thread.x] / bc1)) / (Math.sqrt(v[this.thread.x] / bc2) + eps);`,
  ),
} satisfies Record<string, KernelDef>;

export type KernelName = keyof typeof KERNELS;
