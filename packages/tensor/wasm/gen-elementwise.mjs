// Emits the AssemblyScript source of the SIMD elementwise kernels (docs/cpu-simd.md §5), appended to the GEMM in one
// module: unary ops (exp and the activations built on it, and the cheap ones), binary add/sub/mul/div in the
// broadcast layouts the training step uses, softmax and its backward, RMSNorm/LayerNorm forward and backward,
// AdamW, RoPE and attention's head split/merge. The CPU backend runs them in place on tensors that live in the
// module's (shared) memory, so a pass costs about 0.15 ns per element where a JS loop over a Float32Array costs
// about 1.8 (V8 converts every element to double and back and does not vectorise).
//
// exp: Cody-Waite range reduction x = n ln2 + r (|r| <= ln2/2), Cephes' expf polynomial (about 1 ulp), n by the
// 1.5 * 2^23 magic-add rounding, and 2^n applied as two factors 2^(n>>1) * 2^(n - (n>>1)) so that the whole clamped
// range [-104, 89] (overflow to +Inf, gradual underflow to 0) needs no special case. The clamps use pmin/pmax (a
// plain compare-select; min/max carry NaN rules that cost about 8 instructions each); a NaN flows through as NaN.
//
// Vector constants: TurboFan re-materialises every v128.const inside a loop (several instructions each; exp has
// 15), so the kernels read their constants from a table in memory into locals before the loop, where Binaryen
// cannot fold them back into constants. That halves the time per element.
//
// Lengths: n counts floats; element loops run over whole vectors, and row kernels run each row in whole vectors
// (masking their reductions at the row end and writing past a row into the next one, which they write afterwards),
// so every operand must be readable and every output writable 3 floats past its end (the arena keeps 4 floats of
// padding after every block). No output may overlap an input.

import { readFileSync } from 'node:fs';
import { UNARY_OPS } from '../src/unary-ops.js';

// The binary op tables are plain data in ops.json; the unary ops come from the package's one table (src/unary-ops.js),
// where an op's index is its code here, in the CPU backend and in the GPU kernels.
const OPS = JSON.parse(readFileSync(new URL('./ops.json', import.meta.url), 'utf8'));
/** binary op codes (by index) */
export const BINARY_CODES = OPS.binary;
/** binary layouts (by index): same shape; b a scalar; b a row repeated over a; a a scalar; a a row repeated over b */
export const BINARY_MODES = OPS.binaryModes;

/** name -> value of every splatted f32 constant the kernels use */
const CONSTS = {
  one: 1,
  zero: 0,
  ninf: Number.NEGATIVE_INFINITY,
  hi: 89,
  lo: -104,
  log2e: Math.LOG2E,
  magic: 12582912, // 1.5 * 2^23
  ln2hi: 0.693359375,
  ln2lo: -2.1219444e-4,
  p0: 1.98756915e-4,
  p1: 1.3981999507e-3,
  p2: 8.3334519073e-3,
  p3: 4.1665795894e-2,
  p4: 1.6666665459e-1,
  p5: 5.0000001201e-1,
  // GELU: -2u = x (g0 + g1 x^2), u = sqrt(2/pi) (x + 0.044715 x^3); du2 = 2 du/dx = d0 + d1 x^2
  g0: -1.5957691216057308,
  g1: -0.07135481627159945,
  d0: 1.5957691216057308,
  d1: 0.21406444881479836,
  gclamp: 20,
  gclampNeg: -20,
};
const NAMES = Object.keys(CONSTS);
const EXP_K = ['one', 'hi', 'lo', 'log2e', 'magic', 'ln2hi', 'ln2lo', 'p0', 'p1', 'p2', 'p3', 'p4', 'p5'];

/** declarations of the named constant locals, loaded from the table */
const konst = (names, ind = '  ') =>
  [...new Set(names)].map((n) => `${ind}const k_${n} = v128.load32_splat(CONSTS, ${NAMES.indexOf(n) * 4});`).join('\n');

/** the f64 constants of exp64/m2u64, loaded (not v128.const) for the same reason as the f32 ones */
const KONST64 = ['HI', 'LO', 'LOG2E', 'LN2', 'G0', 'G1']
  .map((n, i) => `  const K64_${n} = v128.load64_splat(CONSTS64, ${i * 8});`)
  .join('\n');

/** statements computing `e<s> = exp(x)` for the v128 expression x (needs the EXP_K constants) */
const exp = (x, s) => [
  `const xc${s} = f32x4.pmax(f32x4.pmin(${x}, k_hi), k_lo);`,
  `const t${s} = f32x4.add(f32x4.mul(xc${s}, k_log2e), k_magic);`,
  `const nf${s} = f32x4.sub(t${s}, k_magic);`,
  `const ni${s} = i32x4.sub(t${s}, k_magic);`,
  `let r${s} = f32x4.sub(xc${s}, f32x4.mul(nf${s}, k_ln2hi));`,
  `r${s} = f32x4.sub(r${s}, f32x4.mul(nf${s}, k_ln2lo));`,
  `let p${s} = f32x4.add(f32x4.mul(k_p0, r${s}), k_p1);`,
  `p${s} = f32x4.add(f32x4.mul(p${s}, r${s}), k_p2);`,
  `p${s} = f32x4.add(f32x4.mul(p${s}, r${s}), k_p3);`,
  `p${s} = f32x4.add(f32x4.mul(p${s}, r${s}), k_p4);`,
  `p${s} = f32x4.add(f32x4.mul(p${s}, r${s}), k_p5);`,
  `p${s} = f32x4.add(f32x4.add(f32x4.mul(p${s}, f32x4.mul(r${s}, r${s})), r${s}), k_one);`,
  `const n1${s} = i32x4.shr_s(ni${s}, 1);`,
  `const s1${s} = i32x4.shl(i32x4.add(n1${s}, i32x4.splat(127)), 23);`,
  `const s2${s} = i32x4.shl(i32x4.add(i32x4.sub(ni${s}, n1${s}), i32x4.splat(127)), 23);`,
  `const e${s} = f32x4.mul(f32x4.mul(p${s}, s1${s}), s2${s});`,
];

/**
 * statements computing `e<s> = exp(a)` (f32x4) for an argument held in float64 as two f64x2 (lanes 0-1, 2-3): the
 * range reduction runs in f64, so an argument that is itself a computed value (GELU's -2u, up to about 10) loses
 * none of its bits to float32 rounding before exp multiplies its error by |a|. Needs EXP_K and the f64 constants.
 */
const exp64 = (lo, hi, s) => [
  `const al${s} = f64x2.pmax(f64x2.pmin(${lo}, K64_HI), K64_LO);`,
  `const ah${s} = f64x2.pmax(f64x2.pmin(${hi}, K64_HI), K64_LO);`,
  `const nl${s} = f64x2.nearest(f64x2.mul(al${s}, K64_LOG2E));`,
  `const nh${s} = f64x2.nearest(f64x2.mul(ah${s}, K64_LOG2E));`,
  `const rl${s} = f64x2.sub(al${s}, f64x2.mul(nl${s}, K64_LN2));`,
  `const rh${s} = f64x2.sub(ah${s}, f64x2.mul(nh${s}, K64_LN2));`,
  `const r${s} = v128.shuffle<f32>(f32x4.demote_f64x2_zero(rl${s}), f32x4.demote_f64x2_zero(rh${s}), 0, 1, 4, 5);`,
  `const ni${s} = v128.shuffle<i32>(i32x4.trunc_sat_f64x2_s_zero(nl${s}), i32x4.trunc_sat_f64x2_s_zero(nh${s}), 0, 1, 4, 5);`,
  `let p${s} = f32x4.add(f32x4.mul(k_p0, r${s}), k_p1);`,
  `p${s} = f32x4.add(f32x4.mul(p${s}, r${s}), k_p2);`,
  `p${s} = f32x4.add(f32x4.mul(p${s}, r${s}), k_p3);`,
  `p${s} = f32x4.add(f32x4.mul(p${s}, r${s}), k_p4);`,
  `p${s} = f32x4.add(f32x4.mul(p${s}, r${s}), k_p5);`,
  `p${s} = f32x4.add(f32x4.add(f32x4.mul(p${s}, f32x4.mul(r${s}, r${s})), r${s}), k_one);`,
  `const n1${s} = i32x4.shr_s(ni${s}, 1);`,
  `const s1${s} = i32x4.shl(i32x4.add(n1${s}, i32x4.splat(127)), 23);`,
  `const s2${s} = i32x4.shl(i32x4.add(i32x4.sub(ni${s}, n1${s}), i32x4.splat(127)), 23);`,
  `const e${s} = f32x4.mul(f32x4.mul(p${s}, s1${s}), s2${s});`,
];

/** -2u of GELU in float64 (two f64x2) for the f32x4 expression x: -2u = x (g0 + g1 x^2) */
const m2u64 = (x) => [
  `const xl = f64x2.promote_low_f32x4(${x});`,
  `const xh = f64x2.promote_low_f32x4(v128.shuffle<f32>(${x}, ${x}, 2, 3, 0, 1));`,
  'const ml = f64x2.mul(xl, f64x2.add(K64_G0, f64x2.mul(f64x2.mul(xl, xl), K64_G1)));',
  'const mh = f64x2.mul(xh, f64x2.add(K64_G0, f64x2.mul(f64x2.mul(xh, xh), K64_G1)));',
];

// unary kernels: statements mapping `x` to `y`, and the constants they need
const UNARY = {
  exp: { k: EXP_K, body: () => [...exp('x', 'a'), 'const y = ea;'] },
  // 1 / (1 + exp(-x)): exp(-x) = +Inf gives 0, never NaN
  sigmoid: { k: EXP_K, body: () => [...exp('f32x4.neg(x)', 'a'), 'const y = f32x4.div(k_one, f32x4.add(k_one, ea));'] },
  silu: { k: EXP_K, body: () => [...exp('f32x4.neg(x)', 'a'), 'const y = f32x4.div(x, f32x4.add(k_one, ea));'] },
  // s (1 + x (1 - s)), s = sigmoid(x)
  siluGrad: {
    k: EXP_K,
    body: () => [
      ...exp('f32x4.neg(x)', 'a'),
      'const s = f32x4.div(k_one, f32x4.add(k_one, ea));',
      'const y = f32x4.mul(s, f32x4.add(k_one, f32x4.mul(x, f32x4.sub(k_one, s))));',
    ],
  },
  // tanh GELU: 0.5 x (1 + tanh u) = x sigmoid(2u); -2u and the range reduction of exp(-2u) in f64 (exp64)
  gelu: {
    k: [...EXP_K],
    body: () => [...m2u64('x'), ...exp64('ml', 'mh', 'a'), 'const y = f32x4.div(x, f32x4.add(k_one, ea));'],
  },
  // s (1 + x (1 - s) 2 du/dx), s = sigmoid(2u). Beyond |x| = 20 it is 0 or 1 in float32, so x is clamped there
  // first (the x^2 terms would overflow to Inf * 0 = NaN far out).
  geluGrad: {
    k: [...EXP_K, 'd0', 'd1', 'gclamp', 'gclampNeg'],
    body: () => [
      'const xc = f32x4.pmax(f32x4.pmin(x, k_gclamp), k_gclampNeg);',
      'const x2 = f32x4.mul(xc, xc);',
      ...m2u64('xc'),
      ...exp64('ml', 'mh', 'a'),
      'const s = f32x4.div(k_one, f32x4.add(k_one, ea));',
      'const du2 = f32x4.add(k_d0, f32x4.mul(x2, k_d1));',
      'const y = f32x4.mul(s, f32x4.add(k_one, f32x4.mul(f32x4.mul(xc, f32x4.sub(k_one, s)), du2)));',
    ],
  },
  neg: { k: [], body: () => ['const y = f32x4.neg(x);'] },
  square: { k: [], body: () => ['const y = f32x4.mul(x, x);'] },
  sqrt: { k: [], body: () => ['const y = f32x4.sqrt(x);'] },
  rsqrt: { k: ['one'], body: () => ['const y = f32x4.div(k_one, f32x4.sqrt(x));'] },
  reciprocal: { k: ['one'], body: () => ['const y = f32x4.div(k_one, x);'] },
  abs: { k: [], body: () => ['const y = f32x4.abs(x);'] },
  // x where x > 0 or NaN, else +0 (as the TS kernel: -0 gives +0, NaN stays)
  relu: {
    k: ['zero'],
    body: () => ['const y = v128.bitselect(x, k_zero, v128.or(f32x4.gt(x, k_zero), f32x4.ne(x, x)));'],
  },
  step: {
    k: ['zero', 'one'],
    body: () => ['const y = v128.bitselect(x, v128.bitselect(k_one, k_zero, f32x4.gt(x, k_zero)), f32x4.ne(x, x));'],
  },
};

for (const op of Object.keys(UNARY)) {
  if (!UNARY_OPS.includes(op)) throw new Error(`wasm unary kernel '${op}' is not in src/unary-ops.js`);
}
/** the unary ops with a wasm kernel (log and tanh have none: the TS kernels run them), in table order */
export const WASM_UNARY_OPS = UNARY_OPS.filter((op) => UNARY[op]);
const code = (op) => UNARY_OPS.indexOf(op);

const ind = (lines, pad) => lines.map((l) => `${pad}${l}`).join('\n');

function unaryFn() {
  const used = WASM_UNARY_OPS.flatMap((op) => UNARY[op].k);
  const cases = WASM_UNARY_OPS.map(
    (op) => `    case ${code(op)}: {
      for (let i: usize = 0; i < n4; i += 16) {
        const x = v128.load(xp + i);
${ind(UNARY[op].body(), '        ')}
        v128.store(out + i, y);
      }
      break;
    }`,
  ).join('\n');
  return `/** out[0:n] = op(x[0:n]), op by its index in src/unary-ops.js (${WASM_UNARY_OPS.map((op) => `${code(op)} ${op}`).join(', ')}) */
export function unary(op: i32, xp: usize, out: usize, n: usize): void {
  const n4 = ((n + 3) & ~3) * 4;
${konst(used)}
${KONST64}
  switch (op) {
${cases}
    default:
      unreachable();
  }
}`;
}

function unaryMulFn() {
  const used = WASM_UNARY_OPS.flatMap((op) => UNARY[op].k);
  const cases = WASM_UNARY_OPS.map(
    (op) => `    case ${code(op)}: {
      for (let i: usize = 0; i < n4; i += 16) {
        const x = v128.load(xp + i);
${ind(UNARY[op].body(), '        ')}
        v128.store(out + i, f32x4.mul(v128.load(yp + i), y));
      }
      break;
    }`,
  ).join('\n');
  return `/** out[0:n] = y[0:n] * op(x[0:n]) (a backward rule's dy * f'(x) in one pass), op by index as in unary() */
export function unaryMul(op: i32, xp: usize, yp: usize, out: usize, n: usize): void {
  const n4 = ((n + 3) & ~3) * 4;
${konst(used)}
${KONST64}
  switch (op) {
${cases}
    default:
      unreachable();
  }
}

/** SwiGLU's gate: out = silu(a) b = a b / (1 + exp(-a)) */
export function swiglu(a: usize, b: usize, out: usize, n: usize): void {
  const n4 = ((n + 3) & ~3) * 4;
${konst(EXP_K)}
  for (let i: usize = 0; i < n4; i += 16) {
    const x = v128.load(a + i);
${ind(exp('f32x4.neg(x)', 'a'), '    ')}
    v128.store(out + i, f32x4.div(f32x4.mul(x, v128.load(b + i)), f32x4.add(k_one, ea)));
  }
}

/** SwiGLU backward: s = sigmoid(a); db = g a s; da = g b s (1 + a (1 - s)) */
export function swigluBackward(a: usize, b: usize, g: usize, da: usize, db: usize, n: usize): void {
  const n4 = ((n + 3) & ~3) * 4;
${konst(EXP_K)}
  for (let i: usize = 0; i < n4; i += 16) {
    const x = v128.load(a + i);
${ind(exp('f32x4.neg(x)', 'a'), '    ')}
    const s = f32x4.div(k_one, f32x4.add(k_one, ea));
    const gv = v128.load(g + i);
    const gs = f32x4.mul(gv, s);
    v128.store(db + i, f32x4.mul(gs, x));
    v128.store(da + i, f32x4.mul(f32x4.mul(gs, v128.load(b + i)), f32x4.add(k_one, f32x4.mul(x, f32x4.sub(k_one, s)))));
  }
}`;
}

function binaryFn() {
  const OPS = { add: 'f32x4.add', sub: 'f32x4.sub', mul: 'f32x4.mul', div: 'f32x4.div' };
  const cases = [];
  BINARY_CODES.forEach((op, o) => {
    const f = OPS[op];
    const loops = [
      // same
      `for (let i: usize = 0; i < n4; i += 16) v128.store(out + i, ${f}(v128.load(a + i), v128.load(b + i)));`,
      // scalarRight
      `const s = v128.load32_splat(b);\n        for (let i: usize = 0; i < n4; i += 16) v128.store(out + i, ${f}(v128.load(a + i), s));`,
      // rowRight: rows of nb floats; a row's last vector may run into the next row, which is written after it
      `const nb4 = ((nb + 3) & ~3) * 4;\n        for (let r: usize = 0; r < n * 4; r += nb * 4) {\n          for (let j: usize = 0; j < nb4; j += 16) v128.store(out + r + j, ${f}(v128.load(a + r + j), v128.load(b + j)));\n        }`,
      // scalarLeft
      `const s = v128.load32_splat(a);\n        for (let i: usize = 0; i < n4; i += 16) v128.store(out + i, ${f}(s, v128.load(b + i)));`,
      // rowLeft
      `const nb4 = ((nb + 3) & ~3) * 4;\n        for (let r: usize = 0; r < n * 4; r += nb * 4) {\n          for (let j: usize = 0; j < nb4; j += 16) v128.store(out + r + j, ${f}(v128.load(a + j), v128.load(b + r + j)));\n        }`,
    ];
    loops.forEach((loop, m) => {
      cases.push(`    case ${o * BINARY_MODES.length + m}: {\n        ${loop}\n      break;\n    }`);
    });
  });
  return `/**
 * out[0:n] = a op b with op by index in ${JSON.stringify(BINARY_CODES)} and the layout by index in
 * ${JSON.stringify(BINARY_MODES)}; for the row layouts the row operand has nb floats and n is a multiple of nb.
 */
export function binary(op: i32, mode: i32, a: usize, b: usize, out: usize, n: usize, nb: usize): void {
  const n4 = ((n + 3) & ~3) * 4;
  switch (op * ${BINARY_MODES.length} + mode) {
${cases.join('\n')}
    default:
      unreachable();
  }
}`;
}

// horizontal reductions of a v128
const HELPERS = `// @ts-ignore: decorator
@inline
function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

// @ts-ignore: decorator
@inline
function hmax(v: v128): f32 {
  const s = f32x4.max(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return max<f32>(f32x4.extract_lane(s, 0), f32x4.extract_lane(s, 1));
}

// f64 sum of the 4 lanes of two f64x2 accumulators
// @ts-ignore: decorator
@inline
function hsum64(lo: v128, hi: v128): f64 {
  const s = f64x2.add(lo, hi);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

// lanes j..j+3 that lie below limit (as an all-ones mask)
// @ts-ignore: decorator
@inline
function below(j: i32, limit: i32): v128 {
  return i32x4.lt_s(i32x4.add(v128.load(LANES), i32x4.splat(j)), i32x4.splat(limit));
}

// acc (two f64x2, lanes 0-1 and 2-3) += v
// @ts-ignore: decorator
@inline
function lo64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
// @ts-ignore: decorator
@inline
function hi64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
}`;

function softmaxFns() {
  return `/**
 * Row softmax / log-softmax over [rows, cols] with the causal rule of SoftmaxParams (tq = 0: no mask): row r sees
 * keys j < min(cols, r % tq + cols - tq + 1); masked entries get 0 (softmax) or -Inf (log-softmax). The row max
 * propagates NaN, as the TS kernel's does.
 */
export function softmax(x: usize, out: usize, rows: i32, cols: i32, tq: i32, log: i32): void {
${konst([...EXP_K, 'ninf', 'zero'])}
  for (let r = 0; r < rows; r++) {
    const limit = tq > 0 ? min(cols, (r % tq) + cols - tq + 1) : cols;
    const xr = x + <usize>r * <usize>cols * 4;
    const orow = out + <usize>r * <usize>cols * 4;
    let mv = k_ninf;
    let j = 0;
    for (; j + 4 <= limit; j += 4) mv = f32x4.max(mv, v128.load(xr + <usize>j * 4));
    if (j < limit) mv = f32x4.max(mv, v128.bitselect(v128.load(xr + <usize>j * 4), k_ninf, below(j, limit)));
    const m = hmax(mv);
    const ms = f32x4.splat(m);
    let sv = k_zero;
    for (j = 0; j < limit; j += 4) {
${ind(exp('f32x4.sub(v128.load(xr + <usize>j * 4), ms)', 'a'), '      ')}
      const e = j + 4 <= limit ? ea : v128.bitselect(ea, k_zero, below(j, limit));
      if (log == 0) v128.store(orow + <usize>j * 4, e);
      sv = f32x4.add(sv, e);
    }
    const s = hsum(sv);
    if (log != 0) {
      const lse = f32x4.splat(m + <f32>Math.log(<f64>s));
      for (j = 0; j < limit; j += 4) v128.store(orow + <usize>j * 4, f32x4.sub(v128.load(xr + <usize>j * 4), lse));
      for (j = limit; j < cols; j++) store<f32>(orow + <usize>j * 4, <f32>(-Infinity));
    } else {
      const inv = f32x4.splat(<f32>(1.0 / <f64>s));
      for (j = 0; j < limit; j += 4) v128.store(orow + <usize>j * 4, f32x4.mul(v128.load(orow + <usize>j * 4), inv));
      for (j = limit; j < cols; j++) store<f32>(orow + <usize>j * 4, 0);
    }
  }
}

/** softmax: dx = y (dy - sum(dy y)); log-softmax: dx = dy - exp(y) sum(dy); masked entries 0 */
export function softmaxBackward(y: usize, dy: usize, out: usize, rows: i32, cols: i32, tq: i32, log: i32): void {
${konst([...EXP_K, 'zero'])}
  for (let r = 0; r < rows; r++) {
    const limit = tq > 0 ? min(cols, (r % tq) + cols - tq + 1) : cols;
    const off = <usize>r * <usize>cols * 4;
    let sv = k_zero;
    let j = 0;
    if (log != 0) {
      for (; j < limit; j += 4) {
        const d = v128.load(dy + off + <usize>j * 4);
        sv = f32x4.add(sv, j + 4 <= limit ? d : v128.bitselect(d, k_zero, below(j, limit)));
      }
      const s = f32x4.splat(hsum(sv));
      for (j = 0; j < limit; j += 4) {
${ind(exp('v128.load(y + off + <usize>j * 4)', 'a'), '        ')}
        v128.store(out + off + <usize>j * 4, f32x4.sub(v128.load(dy + off + <usize>j * 4), f32x4.mul(ea, s)));
      }
    } else {
      for (; j < limit; j += 4) {
        const p = f32x4.mul(v128.load(dy + off + <usize>j * 4), v128.load(y + off + <usize>j * 4));
        sv = f32x4.add(sv, j + 4 <= limit ? p : v128.bitselect(p, k_zero, below(j, limit)));
      }
      const s = f32x4.splat(hsum(sv));
      for (j = 0; j < limit; j += 4) {
        const yv = v128.load(y + off + <usize>j * 4);
        v128.store(out + off + <usize>j * 4, f32x4.mul(yv, f32x4.sub(v128.load(dy + off + <usize>j * 4), s)));
      }
    }
    for (j = limit; j < cols; j++) store<f32>(out + off + <usize>j * 4, 0);
  }
}`;
}

function lossFns() {
  return `/**
 * Per-row cross-entropy: out[r] = logsumexp(logits[r]) - logits[r, t[r]] with the targets t as floats (the caller
 * has checked them: integers in [0, vocab)). The row max propagates NaN; the exp sum is f32, the log f64.
 */
export function crossEntropy(logits: usize, targets: usize, out: usize, rows: i32, vocab: i32): void {
${konst([...EXP_K, 'ninf', 'zero'])}
  for (let r = 0; r < rows; r++) {
    const row = logits + <usize>r * <usize>vocab * 4;
    let mv = k_ninf;
    for (let j = 0; j < vocab; j += 4) {
      const v = v128.load(row + <usize>j * 4);
      mv = f32x4.max(mv, j + 4 <= vocab ? v : v128.bitselect(v, k_ninf, below(j, vocab)));
    }
    const m = hmax(mv);
    const ms = f32x4.splat(m);
    let sv = k_zero;
    for (let j = 0; j < vocab; j += 4) {
${ind(exp('f32x4.sub(v128.load(row + <usize>j * 4), ms)', 'a'), '      ')}
      sv = f32x4.add(sv, j + 4 <= vocab ? ea : v128.bitselect(ea, k_zero, below(j, vocab)));
    }
    const t = <i32>load<f32>(targets + <usize>r * 4);
    const lse = <f64>m + Math.log(<f64>hsum(sv));
    store<f32>(out + <usize>r * 4, <f32>(lse - <f64>load<f32>(row + <usize>t * 4)));
  }
}

/** dlogits[r] = dLoss[r] (softmax(logits[r]) - onehot(t[r])); dLoss has 1 or rows entries (dn) */
export function crossEntropyBackward(logits: usize, targets: usize, dLoss: usize, dn: i32, out: usize, rows: i32, vocab: i32): void {
${konst([...EXP_K, 'ninf', 'zero'])}
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>vocab * 4;
    const row = logits + off;
    const orow = out + off;
    let mv = k_ninf;
    for (let j = 0; j < vocab; j += 4) {
      const v = v128.load(row + <usize>j * 4);
      mv = f32x4.max(mv, j + 4 <= vocab ? v : v128.bitselect(v, k_ninf, below(j, vocab)));
    }
    const ms = f32x4.splat(hmax(mv));
    let sv = k_zero;
    for (let j = 0; j < vocab; j += 4) {
${ind(exp('f32x4.sub(v128.load(row + <usize>j * 4), ms)', 'a'), '      ')}
      const e = j + 4 <= vocab ? ea : v128.bitselect(ea, k_zero, below(j, vocab));
      v128.store(orow + <usize>j * 4, e);
      sv = f32x4.add(sv, e);
    }
    const d = load<f32>(dLoss + (dn == 1 ? 0 : <usize>r * 4));
    const scale = f32x4.splat(<f32>(<f64>d / <f64>hsum(sv)));
    for (let j = 0; j < vocab; j += 4) v128.store(orow + <usize>j * 4, f32x4.mul(v128.load(orow + <usize>j * 4), scale));
    const t = <i32>load<f32>(targets + <usize>r * 4);
    store<f32>(orow + <usize>t * 4, load<f32>(orow + <usize>t * 4) - d);
  }
}

/**
 * Sum over the middle axis of x viewed as [outer, len, inner] -> out [outer, inner], accumulated in f64 (acc:
 * 2 ceil4(inner) doubles of scratch when inner > 1).
 */
export function reduceSum(x: usize, out: usize, outer: i32, len: i32, inner: i32, acc: usize): void {
  if (inner == 1) {
    for (let o = 0; o < outer; o++) {
      const row = x + <usize>o * <usize>len * 4;
      let lo = f64x2.splat(0);
      let hi = f64x2.splat(0);
      for (let j = 0; j < len; j += 4) {
        const v = v128.load(row + <usize>j * 4);
        let vl = lo64(v);
        let vh = hi64(v);
        if (j + 4 > len) {
          const mk = below(j, len);
          vl = v128.and(vl, i64x2.extend_low_i32x4_s(mk));
          vh = v128.and(vh, i64x2.extend_high_i32x4_s(mk));
        }
        lo = f64x2.add(lo, vl);
        hi = f64x2.add(hi, vh);
      }
      store<f32>(out + <usize>o * 4, <f32>hsum64(lo, hi));
    }
    return;
  }
  const in4 = (inner + 3) & ~3;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < in4; i += 2) v128.store(acc + <usize>i * 8, f64x2.splat(0));
    const base = x + <usize>o * <usize>len * <usize>inner * 4;
    for (let k = 0; k < len; k++) {
      const row = base + <usize>k * <usize>inner * 4;
      for (let i = 0; i < inner; i += 4) {
        // lanes past inner read the next row (or padding): they land in acc's padding and are never stored
        const v = v128.load(row + <usize>i * 4);
        const a = acc + <usize>i * 8;
        v128.store(a, f64x2.add(v128.load(a), lo64(v)));
        v128.store(a, f64x2.add(v128.load(a, 16), hi64(v)), 16);
      }
    }
    const orow = out + <usize>o * <usize>inner * 4;
    for (let i = 0; i < inner; i++) store<f32>(orow + <usize>i * 4, <f32>load<f64>(acc + <usize>i * 8));
  }
}`;
}

function normFns() {
  // Every product that feeds a row or column sum is formed in float64 from the float32 inputs, like the TS kernels'
  // (a float32 x^2 overflows at |x| ~ 1.8e19 and would turn a blown-up step's NaN into a silent 0). The masks of a
  // row's last vector widen to 64-bit lanes with i64x2.extend_*_i32x4_s.
  return `/** RMSNorm rows: y = x rstd g (g = 0: no gain), rstd = 1 / sqrt(mean(x^2) + eps); sums in f64 */
export function rmsnormForward(x: usize, g: usize, y: usize, rstd: usize, rows: i32, dim: i32, eps: f64): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>dim * 4;
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    for (let j = 0; j < dim; j += 4) {
      const v = v128.load(x + off + <usize>j * 4);
      let ql = f64x2.mul(lo64(v), lo64(v));
      let qh = f64x2.mul(hi64(v), hi64(v));
      if (j + 4 > dim) {
        const mk = below(j, dim);
        ql = v128.and(ql, i64x2.extend_low_i32x4_s(mk));
        qh = v128.and(qh, i64x2.extend_high_i32x4_s(mk));
      }
      lo = f64x2.add(lo, ql);
      hi = f64x2.add(hi, qh);
    }
    const rs = <f32>(1.0 / Math.sqrt(hsum64(lo, hi) / <f64>dim + eps));
    store<f32>(rstd + <usize>r * 4, rs);
    const s = f32x4.splat(rs);
    if (g != 0) {
      for (let j = 0; j < dim; j += 4) {
        const o = off + <usize>j * 4;
        v128.store(y + o, f32x4.mul(f32x4.mul(v128.load(x + o), s), v128.load(g + <usize>j * 4)));
      }
    } else {
      for (let j = 0; j < dim; j += 4) v128.store(y + off + <usize>j * 4, f32x4.mul(v128.load(x + off + <usize>j * 4), s));
    }
  }
}

/**
 * RMSNorm backward: dx = rstd (dy g - x k), k = rstd^2 mean(dy g x); dg = sum over rows of dy x rstd, accumulated
 * in f64 at acc (ceil4(dim) doubles of scratch) and written to dg (g = 0: no gain, no dg).
 */
export function rmsnormBackward(dy: usize, x: usize, g: usize, rstd: usize, dx: usize, dg: usize, acc: usize, rows: i32, dim: i32): void {
  const dim4 = (dim + 3) & ~3;
  if (g != 0) for (let j = 0; j < dim4; j += 2) v128.store(acc + <usize>j * 8, f64x2.splat(0));
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>dim * 4;
    const rs = load<f32>(rstd + <usize>r * 4);
    const rsv = f32x4.splat(rs);
    const rs64 = f64x2.splat(<f64>rs);
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    for (let j = 0; j < dim; j += 4) {
      const o = off + <usize>j * 4;
      const d = v128.load(dy + o);
      const xv = v128.load(x + o);
      // dy x (times g: the dot), in f64
      let dxl = f64x2.mul(lo64(d), lo64(xv));
      let dxh = f64x2.mul(hi64(d), hi64(xv));
      if (j + 4 > dim) {
        const mk = below(j, dim);
        dxl = v128.and(dxl, i64x2.extend_low_i32x4_s(mk));
        dxh = v128.and(dxh, i64x2.extend_high_i32x4_s(mk));
      }
      if (g != 0) {
        const gv = v128.load(g + <usize>j * 4);
        lo = f64x2.add(lo, f64x2.mul(dxl, lo64(gv)));
        hi = f64x2.add(hi, f64x2.mul(dxh, hi64(gv)));
        const a = acc + <usize>j * 8;
        v128.store(a, f64x2.add(v128.load(a), f64x2.mul(dxl, rs64)));
        v128.store(a, f64x2.add(v128.load(a, 16), f64x2.mul(dxh, rs64)), 16);
      } else {
        lo = f64x2.add(lo, dxl);
        hi = f64x2.add(hi, dxh);
      }
    }
    const k = f32x4.splat(<f32>((hsum64(lo, hi) * <f64>rs * <f64>rs) / <f64>dim));
    for (let j = 0; j < dim; j += 4) {
      const o = off + <usize>j * 4;
      const d = v128.load(dy + o);
      const dxh = g != 0 ? f32x4.mul(d, v128.load(g + <usize>j * 4)) : d;
      v128.store(dx + o, f32x4.mul(rsv, f32x4.sub(dxh, f32x4.mul(v128.load(x + o), k))));
    }
  }
  if (g != 0) for (let j = 0; j < dim; j++) store<f32>(dg + <usize>j * 4, <f32>load<f64>(acc + <usize>j * 8));
}

/** LayerNorm rows: y = (x - mean) rstd g + b (g, b = 0: absent); two-pass mean and variance, sums in f64 */
export function layernormForward(x: usize, g: usize, b: usize, y: usize, mean: usize, rstd: usize, rows: i32, dim: i32, eps: f64): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>dim * 4;
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    for (let j = 0; j < dim; j += 4) {
      const v = v128.load(x + off + <usize>j * 4);
      let vl = lo64(v);
      let vh = hi64(v);
      if (j + 4 > dim) {
        const mk = below(j, dim);
        vl = v128.and(vl, i64x2.extend_low_i32x4_s(mk));
        vh = v128.and(vh, i64x2.extend_high_i32x4_s(mk));
      }
      lo = f64x2.add(lo, vl);
      hi = f64x2.add(hi, vh);
    }
    const mu = hsum64(lo, hi) / <f64>dim;
    const muv = f32x4.splat(<f32>mu);
    const mu64 = f64x2.splat(mu);
    lo = f64x2.splat(0);
    hi = f64x2.splat(0);
    for (let j = 0; j < dim; j += 4) {
      const v = v128.load(x + off + <usize>j * 4);
      const dl = f64x2.sub(lo64(v), mu64);
      const dh = f64x2.sub(hi64(v), mu64);
      let ql = f64x2.mul(dl, dl);
      let qh = f64x2.mul(dh, dh);
      if (j + 4 > dim) {
        const mk = below(j, dim);
        ql = v128.and(ql, i64x2.extend_low_i32x4_s(mk));
        qh = v128.and(qh, i64x2.extend_high_i32x4_s(mk));
      }
      lo = f64x2.add(lo, ql);
      hi = f64x2.add(hi, qh);
    }
    const rs = <f32>(1.0 / Math.sqrt(hsum64(lo, hi) / <f64>dim + eps));
    store<f32>(mean + <usize>r * 4, <f32>mu);
    store<f32>(rstd + <usize>r * 4, rs);
    const s = f32x4.splat(rs);
    for (let j = 0; j < dim; j += 4) {
      const o = off + <usize>j * 4;
      let v = f32x4.mul(f32x4.sub(v128.load(x + o), muv), s);
      if (g != 0) v = f32x4.mul(v, v128.load(g + <usize>j * 4));
      if (b != 0) v = f32x4.add(v, v128.load(b + <usize>j * 4));
      v128.store(y + o, v);
    }
  }
}

/**
 * LayerNorm backward: dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dxhat = dy g; dg = sum dy xhat and
 * db = sum dy over rows, accumulated in f64 at acc (2 ceil4(dim) doubles of scratch). xhat is formed in f32, as the
 * forward pass formed y.
 */
export function layernormBackward(dy: usize, x: usize, g: usize, mean: usize, rstd: usize, dx: usize, dg: usize, db: usize, acc: usize, rows: i32, dim: i32): void {
  const dim4 = (dim + 3) & ~3;
  const accB = acc + <usize>dim4 * 8;
  for (let j = 0; j < dim4 * 2; j += 2) v128.store(acc + <usize>j * 8, f64x2.splat(0));
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>dim * 4;
    const muv = f32x4.splat(load<f32>(mean + <usize>r * 4));
    const rs = load<f32>(rstd + <usize>r * 4);
    const rsv = f32x4.splat(rs);
    let slo = f64x2.splat(0);
    let shi = f64x2.splat(0);
    let dlo = f64x2.splat(0);
    let dhi = f64x2.splat(0);
    for (let j = 0; j < dim; j += 4) {
      const o = off + <usize>j * 4;
      const d = v128.load(dy + o);
      const xh = f32x4.mul(f32x4.sub(v128.load(x + o), muv), rsv);
      let dl = lo64(d);
      let dh = hi64(d);
      let xl = lo64(xh);
      let xhh = hi64(xh);
      if (j + 4 > dim) {
        // past the row end: zero every factor (the lanes there may hold anything, NaN included)
        const mk = below(j, dim);
        const ml = i64x2.extend_low_i32x4_s(mk);
        const mh = i64x2.extend_high_i32x4_s(mk);
        dl = v128.and(dl, ml);
        dh = v128.and(dh, mh);
        xl = v128.and(xl, ml);
        xhh = v128.and(xhh, mh);
      }
      let gl = dl;
      let gh = dh;
      if (g != 0) {
        const gv = v128.load(g + <usize>j * 4);
        gl = f64x2.mul(dl, lo64(gv));
        gh = f64x2.mul(dh, hi64(gv));
      }
      slo = f64x2.add(slo, gl);
      shi = f64x2.add(shi, gh);
      dlo = f64x2.add(dlo, f64x2.mul(gl, xl));
      dhi = f64x2.add(dhi, f64x2.mul(gh, xhh));
      const a = acc + <usize>j * 8;
      v128.store(a, f64x2.add(v128.load(a), f64x2.mul(dl, xl)));
      v128.store(a, f64x2.add(v128.load(a, 16), f64x2.mul(dh, xhh)), 16);
      const ab = accB + <usize>j * 8;
      v128.store(ab, f64x2.add(v128.load(ab), dl));
      v128.store(ab, f64x2.add(v128.load(ab, 16), dh), 16);
    }
    const m1 = f32x4.splat(<f32>(hsum64(slo, shi) / <f64>dim));
    const m2 = f32x4.splat(<f32>(hsum64(dlo, dhi) / <f64>dim));
    for (let j = 0; j < dim; j += 4) {
      const o = off + <usize>j * 4;
      const d = v128.load(dy + o);
      const xh = f32x4.mul(f32x4.sub(v128.load(x + o), muv), rsv);
      const dxh = g != 0 ? f32x4.mul(d, v128.load(g + <usize>j * 4)) : d;
      v128.store(dx + o, f32x4.mul(rsv, f32x4.sub(f32x4.sub(dxh, m1), f32x4.mul(xh, m2))));
    }
  }
  if (dg != 0) for (let j = 0; j < dim; j++) store<f32>(dg + <usize>j * 4, <f32>load<f64>(acc + <usize>j * 8));
  if (db != 0) for (let j = 0; j < dim; j++) store<f32>(db + <usize>j * 4, <f32>load<f64>(accB + <usize>j * 8));
}`;
}

function miscFns() {
  return `/**
 * In-place AdamW with decoupled decay. The caller passes every coefficient already combined in float64 and rounded
 * once (1 - beta in particular: 1 - f32(0.999) is off by 1e-5): c1 = 1 - beta1, c2 = 1 - beta2,
 * stepSize = lr / (1 - beta1^step), invBc2 = 1 / (1 - beta2^step), decay = 1 - lr * weightDecay.
 */
export function adamw(p: usize, g: usize, m: usize, v: usize, n: usize, beta1: f32, c1: f32, beta2: f32, c2: f32, stepSize: f32, invBc2: f32, eps: f32, decay: f32, gs: f32): void {
  const b1 = f32x4.splat(beta1);
  const c1v = f32x4.splat(c1);
  const b2 = f32x4.splat(beta2);
  const c2v = f32x4.splat(c2);
  const gsv = f32x4.splat(gs);
  const stepv = f32x4.splat(stepSize);
  const ibc2 = f32x4.splat(invBc2);
  const epsv = f32x4.splat(eps);
  const dec = f32x4.splat(decay);
  const n4 = ((n + 3) & ~3) * 4;
  for (let i: usize = 0; i < n4; i += 16) {
    const gi = f32x4.mul(v128.load(g + i), gsv);
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + i)), f32x4.mul(c1v, gi));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + i)), f32x4.mul(c2v, f32x4.mul(gi, gi)));
    v128.store(m + i, mi);
    v128.store(v + i, vi);
    const upd = f32x4.div(f32x4.mul(stepv, mi), f32x4.add(f32x4.sqrt(f32x4.mul(vi, ibc2)), epsv));
    v128.store(p + i, f32x4.sub(f32x4.mul(v128.load(p + i), dec), upd));
  }
}

/**
 * RoPE on x [rows, T, hd] (hd/2 a multiple of 4): the pair (i, i + hd/2) at table row t0 + t is rotated by
 * c = cos * cs, s = sin * ss (cs = scale, ss = +-scale: the sign selects the inverse rotation); the tables are
 * [positions, hd/2] floats.
 */
export function rope(x: usize, out: usize, cos: usize, sin: usize, rows: i32, T: i32, hd: i32, t0: i32, cs: f32, ss: f32): void {
  const half = hd >> 1;
  const csv = f32x4.splat(cs);
  const ssv = f32x4.splat(ss);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < T; t++) {
      const row = (<usize>r * <usize>T + <usize>t) * <usize>hd * 4;
      const tab = <usize>(t0 + t) * <usize>half * 4;
      for (let i = 0; i < half; i += 4) {
        const o = <usize>i * 4;
        const c = f32x4.mul(v128.load(cos + tab + o), csv);
        const s = f32x4.mul(v128.load(sin + tab + o), ssv);
        const x1 = v128.load(x + row + o);
        const x2 = v128.load(x + row + <usize>half * 4 + o);
        v128.store(out + row + o, f32x4.sub(f32x4.mul(x1, c), f32x4.mul(x2, s)));
        v128.store(out + row + <usize>half * 4 + o, f32x4.add(f32x4.mul(x1, s), f32x4.mul(x2, c)));
      }
    }
  }
}

/**
 * Part q of attention's head split and its inverse (hd a multiple of 4): packed [B, T, P, H, hd] <-> [B, H, T, hd].
 * toHeads = 1 copies packed -> heads, 0 heads -> packed.
 */
export function heads(packed: usize, part: usize, B: i32, T: i32, H: i32, hd: i32, P: i32, q: i32, toHeads: i32): void {
  const seg = <usize>hd * 4;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      let pk = packed + ((<usize>b * <usize>T + <usize>t) * <usize>P + <usize>q) * <usize>H * seg;
      for (let h = 0; h < H; h++) {
        const hp = part + ((<usize>b * <usize>H + <usize>h) * <usize>T + <usize>t) * seg;
        if (toHeads != 0) {
          for (let i: usize = 0; i < seg; i += 16) v128.store(hp + i, v128.load(pk + i));
        } else {
          for (let i: usize = 0; i < seg; i += 16) v128.store(pk + i, v128.load(hp + i));
        }
        pk += seg;
      }
    }
  }
}`;
}

/** The kernels' source, to append to the GEMM's (it relies on nothing there). */
export function generateElementwise() {
  const table = NAMES.map((n) => CONSTS[n]);
  const lit = (v) => (v === Number.NEGATIVE_INFINITY ? '-Infinity' : Number.isInteger(v) ? `${v}.0` : String(v));
  return `
// ---- elementwise kernels (GENERATED by wasm/gen-elementwise.mjs; do not edit) ----

// ${NAMES.join(', ')}
const CONSTS = memory.data<f32>([${table.map(lit).join(', ')}], 16);
const LANES = memory.data<i32>([0, 1, 2, 3], 16);
// hi, lo, log2e, ln2, g0, g1 in float64
const CONSTS64 = memory.data<f64>([89.0, -104.0, ${Math.LOG2E}, ${Math.LN2}, ${CONSTS.g0}, ${CONSTS.g1}], 16);

${HELPERS}

${unaryFn()}

${unaryMulFn()}

${binaryFn()}

${lossFns()}

${softmaxFns()}

${normFns()}

${miscFns()}
`;
}
