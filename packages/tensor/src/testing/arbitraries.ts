import fc from 'fast-check';

/**
 * A shape of rank in [minRank, maxRank] with dims in [minDim, maxDim].
 *
 * @param opts - Rank and dim bounds.
 * @returns A fast-check arbitrary of shapes.
 */
export function shapeArb(opts: { minRank?: number; maxRank?: number; minDim?: number; maxDim?: number } = {}) {
  const { minRank = 0, maxRank = 4, minDim = 1, maxDim = 4 } = opts;
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/**
 * Two shapes that broadcast together, and their broadcast shape: each is a suffix of a common shape with some dims
 * replaced by 1, so rank mismatch, size-1 dims and scalars all occur.
 *
 * @param maxRank - The largest rank (default 4).
 * @param maxDim - The largest dim (default 4).
 * @returns A fast-check arbitrary of { a, b, out } shapes.
 */
export function broadcastPairArb(maxRank = 4, maxDim = 4) {
  const mask = fc.array(fc.boolean(), { minLength: maxRank, maxLength: maxRank });
  return fc
    .record({
      base: shapeArb({ maxRank, maxDim }),
      dropA: fc.nat(maxRank),
      dropB: fc.nat(maxRank),
      onesA: mask,
      onesB: mask,
    })
    .map(({ base, dropA, dropB, onesA, onesB }) => {
      const a = base.slice(Math.min(dropA, base.length)).map((d, i) => (onesA[i] ? 1 : d));
      const b = base.slice(Math.min(dropB, base.length)).map((d, i) => (onesB[i] ? 1 : d));
      const out = base.slice(base.length - Math.max(a.length, b.length)).map((_, i, arr) => {
        const k = arr.length - 1 - i;
        return Math.max(a[a.length - 1 - k] ?? 1, b[b.length - 1 - k] ?? 1);
      });
      return { a, b, out };
    });
}

/** A seed for the library's Rng, so values inside a property are reproducible from fast-check's counterexample. */
export const seedArb = fc.integer({ min: 0, max: 0x7fffffff });
