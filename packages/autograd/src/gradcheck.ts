import { CpuBackend, getBackend, Rng, setBackend, Tensor, tensor, tidy } from '@tinyformer/tensor';
import { backward } from './backward.js';
import { noGrad } from './tape.js';

/** An input given by value: its values and shape (and dtype). */
export interface GradcheckInput {
  /** the values, row-major */
  values: ArrayLike<number>;
  /** the shape */
  shape: readonly number[];
  /** int32 inputs (indices) are passed through and not differentiated */
  dtype?: 'float32' | 'int32';
}

/** Options of gradcheck. */
export interface GradcheckOptions {
  /** finite-difference step (default 1e-6, in float64) */
  eps?: number;
  /** absolute tolerance (default 1e-5) */
  atol?: number;
  /** relative tolerance, times the numeric gradient's magnitude (default 1e-4) */
  rtol?: number;
  /** seed of the output weights w (default 7) */
  seed?: number;
}

/** What gradcheck found. */
export interface GradcheckResult {
  /** every element within atol + rtol * |numeric| */
  ok: boolean;
  /** the largest |analytic - numeric| over all inputs */
  maxAbsError: number;
  /** the worst element: which input, which index, and both gradients */
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
}

const f64 = new CpuBackend({ precision: 'float64', pool: false });

/**
 * Checks fn's analytic gradients against central finite differences, computed in float64 on the CPU backend.
 * The output is reduced with fixed random weights (L = sum(w * fn(x))) so every output element's gradient is
 * checked, not only their sum.
 *
 * @param fn - The function under test; it receives the inputs as float64 CPU tensors.
 * @param inputs - Its inputs, as values or tensors (int32 ones are not differentiated).
 * @param opts - Step, tolerances, seed.
 * @returns Whether the gradients agree, and the worst element.
 *
 * @example
 * ```ts
 * const r = gradcheck((x) => x.tanh().sum(), [{ values: [0.1, -0.5, 2], shape: [3] }]);
 * r.ok; // true
 * ```
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly (GradcheckInput | Tensor)[],
  opts: GradcheckOptions = {},
): GradcheckResult {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-4, seed = 7 } = opts;
  const specs = inputs.map(toSpec);
  const prev = getBackend();
  setBackend(f64);
  try {
    const make = (vals: readonly Float64Array[]) =>
      specs.map((s, i) => tensor(vals[i]!, s.shape, { dtype: s.dtype ?? 'float32', backend: f64 }));
    const base = specs.map((s) => Float64Array.from(s.values));
    let weights: Float64Array | null = null;
    const lossOf = (xs: Tensor[]): Tensor => {
      const y = fn(...xs);
      if (!weights) {
        const rng = new Rng(seed);
        weights = Float64Array.from({ length: y.size }, () => rng.uniform() * 2 - 1);
      }
      return y.mul(tensor(weights, y.shape, { backend: f64 })).sum();
    };
    // analytic
    const analytic = tidy(() => {
      const xs = make(base);
      xs.forEach((x, i) => {
        if ((specs[i]!.dtype ?? 'float32') === 'float32') x.requiresGrad = true;
      });
      const loss = lossOf(xs);
      if (!loss.requiresGrad) return xs.map(() => null);
      backward(loss);
      return xs.map((x) => (x.grad ? f64.readValues(x.grad.storage) : null));
    });
    // numeric
    let maxAbsError = 0;
    let worst: GradcheckResult['worst'] = null;
    let ok = true;
    noGrad(() => {
      specs.forEach((s, i) => {
        if ((s.dtype ?? 'float32') !== 'float32') return;
        const a = analytic[i];
        for (let k = 0; k < base[i]!.length; k++) {
          const orig = base[i]![k]!;
          base[i]![k] = orig + eps;
          const lp = tidy(() => f64.readValues(lossOf(make(base)).storage)[0]!);
          base[i]![k] = orig - eps;
          const lm = tidy(() => f64.readValues(lossOf(make(base)).storage)[0]!);
          base[i]![k] = orig;
          const numeric = (lp - lm) / (2 * eps);
          const an = a ? a[k]! : 0;
          const err = Math.abs(an - numeric);
          const bad = !(err <= atol + rtol * Math.abs(numeric));
          if (err > maxAbsError || Number.isNaN(err)) {
            maxAbsError = Number.isNaN(err) ? Number.NaN : err;
            worst = { input: i, index: k, analytic: an, numeric };
          }
          if (bad) ok = false;
        }
      });
    });
    return { ok, maxAbsError, worst };
  } finally {
    setBackend(prev);
  }
}

/**
 * gradcheck that throws a descriptive error when the gradients disagree.
 *
 * @param fn - The function under test.
 * @param inputs - Its inputs, as values or tensors.
 * @param opts - Step, tolerances, seed.
 * @returns The result, when it passed.
 * @throws Error naming the worst element when the gradients disagree.
 */
export function assertGradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly (GradcheckInput | Tensor)[],
  opts: GradcheckOptions = {},
): GradcheckResult {
  const r = gradcheck(fn, inputs, opts);
  if (!r.ok) {
    const w = r.worst!;
    throw new Error(
      `gradcheck failed: input ${w.input} element ${w.index}: analytic ${w.analytic} vs numeric ${w.numeric} (max abs error ${r.maxAbsError})`,
    );
  }
  return r;
}

function toSpec(x: GradcheckInput | Tensor): GradcheckInput {
  if (x instanceof Tensor) {
    const values = x.backend instanceof CpuBackend ? x.backend.readValues(x.storage) : x.dataSync();
    return { values, shape: x.shape, dtype: x.dtype };
  }
  return x;
}
