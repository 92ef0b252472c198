/** Small numeric helpers for summaries; every result goes to results.json, so non-finite values become null. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (0 for fewer than two values). */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** JSON has no NaN or Infinity: a non-finite number is recorded as null (and flagged where it matters). */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Exponential moving average of a curve for charts; nulls (non-finite steps) are skipped, not smoothed over. */
export function ema(values: readonly (number | null)[], alpha: number): (number | null)[] {
  let acc: number | null = null;
  return values.map((v) => {
    if (v === null) return null;
    acc = acc === null ? v : alpha * v + (1 - alpha) * acc;
    return acc;
  });
}

/** Least-squares slope of y against x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Formats a number for the report: fixed decimals (exponent form when that would print only zeros), '—' if missing. */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return x !== 0 && Math.abs(x) < 0.5 * 10 ** -digits ? x.toExponential(2) : x.toFixed(digits);
}
