import type { Rng } from '../random.js';

/** One unit in the last place of 1.0 in float32, halved: the float32 rounding unit. */
export const F32_EPS = 2 ** -24;

/**
 * n uniform values in [low, high), each exactly representable in float32, so a float64 reference computed from
 * them sees exactly what a float32 backend stores.
 *
 * @param rng - The generator.
 * @param n - How many.
 * @param low - Lower bound (default -1).
 * @param high - Upper bound (default 1).
 * @returns The values.
 */
export function randomFloats(rng: Rng, n: number, low = -1, high = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * rng.uniform();
  return out;
}

/**
 * n standard normal values (scaled by std), float32-exact.
 *
 * @param rng - The generator.
 * @param n - How many.
 * @param std - The standard deviation (default 1).
 * @returns The values.
 */
export function randomNormals(rng: Rng, n: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * rng.normal();
  return out;
}

/**
 * n integers in [low, high) as float32 values (the Backend's index format).
 *
 * @param rng - The generator.
 * @param n - How many.
 * @param low - Lower bound (included).
 * @param high - Upper bound (excluded).
 * @returns The values.
 */
export function randomInts(rng: Rng, n: number, low: number, high: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + rng.int(high - low);
  return out;
}

/**
 * Like randomInts, as an Int32Array (for int32 tensors).
 *
 * @param rng - The generator.
 * @param n - How many.
 * @param high - Upper bound (excluded); the lower is 0.
 * @returns The indices.
 */
export function randomIndices(rng: Rng, n: number, high: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(high);
  return out;
}

/**
 * The same values with magnitudes bounded away from 0 (|v| >= minAbs): divisors, points away from kinks.
 *
 * @param values - The values.
 * @param minAbs - The smallest magnitude.
 * @returns New values.
 */
export function awayFromZero(values: Float32Array, minAbs: number): Float32Array {
  return values.map((v) => (Math.abs(v) < minAbs ? (v < 0 ? -minAbs : minAbs) + v : v));
}

/**
 * Asserts |actual[i] - expected[i]| <= bound[i] elementwise (bound may be one number for all). NaN must meet NaN
 * and an infinity the same infinity; -0 equals 0. The message lists the worst elements with their bounds, so a
 * failing backend shows where and by how much.
 *
 * @param actual - What the backend computed.
 * @param expected - The reference.
 * @param bound - The allowed error, one for all or per element (default 0).
 * @param label - Names the values in the message (default 'values').
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  bound: number | ArrayLike<number> = 0,
  label = 'values',
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length}, expected ${expected.length}`);
  }
  const bad: { i: number; a: number; e: number; b: number; excess: number }[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const b = typeof bound === 'number' ? bound : bound[i]!;
    let ok: boolean;
    if (Number.isNaN(e) || Number.isNaN(a)) ok = Number.isNaN(e) && Number.isNaN(a);
    else if (!Number.isFinite(e) || !Number.isFinite(a)) ok = a === e;
    else ok = Math.abs(a - e) <= b;
    if (!ok) bad.push({ i, a, e, b, excess: Number.isFinite(a - e) ? Math.abs(a - e) - b : Number.POSITIVE_INFINITY });
  }
  if (bad.length > 0) {
    bad.sort((x, y) => y.excess - x.excess);
    const lines = bad
      .slice(0, 6)
      .map((x) => `  [${x.i}] got ${x.a}, expected ${x.e} (|diff| ${Math.abs(x.a - x.e)} > ${x.b})`);
    throw new Error(
      `${label}: ${bad.length} of ${expected.length} elements out of bounds; worst:\n${lines.join('\n')}`,
    );
  }
}

/**
 * Elementwise bound c * eps * scale[i] (+ floor), the form every conformance check uses.
 *
 * @param scale - The per-element error scale.
 * @param c - The multiplier of the float32 rounding unit.
 * @param floor - Added to every bound (default 0).
 * @returns The bounds.
 */
export function scaledBound(scale: ArrayLike<number>, c: number, floor = 0): Float64Array {
  const out = new Float64Array(scale.length);
  for (let i = 0; i < scale.length; i++) out[i] = c * F32_EPS * scale[i]! + floor;
  return out;
}
