import './index.js';
import { concat, tensor } from '@tinyformer/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { layerNormComposite, rmsNormComposite } from './composite.js';
import { layerNorm, rmsNorm } from './ops.js';

const RUNS = { numRuns: 60, seed: 42 };

/** A [rows, dim] matrix of finite floats with some spread (a row of all-equal values is a degenerate case). */
const matrix = (minDim = 2) =>
  fc
    .record({ rows: fc.integer({ min: 1, max: 4 }), dim: fc.integer({ min: minDim, max: 12 }) })
    .chain(({ rows, dim }) =>
      fc.record({
        rows: fc.constant(rows),
        dim: fc.constant(dim),
        values: fc.array(fc.double({ min: -10, max: 10, noNaN: true }), {
          minLength: rows * dim,
          maxLength: rows * dim,
        }),
      }),
    )
    .filter(({ rows, dim, values }) => {
      for (let r = 0; r < rows; r++) {
        const row = values.slice(r * dim, (r + 1) * dim);
        const m = row.reduce((a, b) => a + b, 0) / dim;
        if (row.reduce((a, b) => a + (b - m) ** 2, 0) / dim < 1e-2) return false;
      }
      return true;
    });

function rowStats(y: Float32Array, rows: number, dim: number): { mean: number; variance: number; rms: number }[] {
  const out = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from(y.subarray(r * dim, (r + 1) * dim));
    const mean = row.reduce((a, b) => a + b, 0) / dim;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / dim;
    const rms = Math.sqrt(row.reduce((a, b) => a + b * b, 0) / dim);
    out.push({ mean, variance, rms });
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const RMS = [
  { name: 'rmsNorm (fused)', f: rmsNorm },
  { name: 'rmsNormComposite', f: rmsNormComposite },
];
const LN = [
  { name: 'layerNorm (fused)', f: layerNorm },
  { name: 'layerNormComposite', f: layerNormComposite },
];

describe('RMSNorm invariants', () => {
  for (const { name, f } of RMS) {
    it(`${name}: RMSNorm(c*x) = RMSNorm(x) for c > 0 (eps tiny)`, () => {
      fc.assert(
        fc.property(matrix(1), fc.double({ min: 0.01, max: 100, noNaN: true }), ({ rows, dim, values }, c) => {
          const x = tensor(values, [rows, dim]);
          const y = f(x, null, 1e-12).dataSync();
          const yc = f(x.mul(c), null, 1e-12).dataSync();
          expect(maxDiff(y, yc)).toBeLessThan(1e-5);
        }),
        RUNS,
      );
    });

    it(`${name}: with eps = 1e-5 the scale invariance holds to within the eps effect`, () => {
      const x = tensor([1, -2, 3, 0.5, 4, -1], [1, 6]);
      const y = f(x, null, 1e-5).dataSync();
      // tiny inputs: eps dominates and the output shrinks (that is eps's job), large ones agree
      expect(maxDiff(f(x.mul(1000), null, 1e-5).dataSync(), y)).toBeLessThan(1e-5);
      expect(maxDiff(f(x.mul(1e-4), null, 1e-5).dataSync(), y)).toBeGreaterThan(0.1);
    });

    it(`${name}: output RMS is 1 per token (affine off)`, () => {
      fc.assert(
        fc.property(matrix(), ({ rows, dim, values }) => {
          const y = f(tensor(values, [rows, dim]), null, 1e-8).dataSync();
          for (const s of rowStats(y, rows, dim)) expect(s.rms).toBeCloseTo(1, 4);
        }),
        RUNS,
      );
    });

    it(`${name}: the scale g multiplies each feature after normalization`, () => {
      const x = tensor([3, 4, 0, 0], [1, 4]); // rms = 2.5
      const g = tensor([1, 2, 3, -1]);
      expect(maxDiff(f(x, g, 0).dataSync(), [1.2, 3.2, 0, 0])).toBeLessThan(1e-6);
    });
  }
});

describe('LayerNorm invariants', () => {
  for (const { name, f } of LN) {
    it(`${name}: LayerNorm(x + c) = LayerNorm(x)`, () => {
      fc.assert(
        fc.property(matrix(), fc.double({ min: -50, max: 50, noNaN: true }), ({ rows, dim, values }, c) => {
          const x = tensor(values, [rows, dim]);
          const y = f(x, null, null, 1e-5).dataSync();
          const yc = f(x.add(c), null, null, 1e-5).dataSync();
          // float32 loses ~|c| * 2^-24 of each input when shifting
          expect(maxDiff(y, yc)).toBeLessThan(1e-4);
        }),
        RUNS,
      );
    });

    it(`${name}: output mean 0 and variance 1 per token (affine off)`, () => {
      fc.assert(
        fc.property(matrix(), ({ rows, dim, values }) => {
          const y = f(tensor(values, [rows, dim]), null, null, 1e-8).dataSync();
          for (const s of rowStats(y, rows, dim)) {
            expect(Math.abs(s.mean)).toBeLessThan(1e-5);
            expect(s.variance).toBeCloseTo(1, 4);
          }
        }),
        RUNS,
      );
    });

    it(`${name}: biased variance (divides by D, like PyTorch) and g, b applied per feature`, () => {
      const x = tensor([1, 2, 3, 4], [1, 4]); // mean 2.5, biased var 1.25
      const g = tensor([1, 2, 1, 1]);
      const b = tensor([0, 0, 10, 0]);
      const s = Math.sqrt(1.25);
      const want = [-1.5 / s, (2 * -0.5) / s, 0.5 / s + 10, 1.5 / s];
      expect(maxDiff(f(x, g, b, 0).dataSync(), want)).toBeLessThan(1e-6);
    });
  }
});

describe('per-token independence', () => {
  const ALL = [
    { name: 'rmsNorm', f: (x: Parameters<typeof rmsNorm>[0]) => rmsNorm(x, null, 1e-5) },
    { name: 'rmsNormComposite', f: (x: Parameters<typeof rmsNorm>[0]) => rmsNormComposite(x, null, 1e-5) },
    { name: 'layerNorm', f: (x: Parameters<typeof rmsNorm>[0]) => layerNorm(x, null, null, 1e-5) },
    { name: 'layerNormComposite', f: (x: Parameters<typeof rmsNorm>[0]) => layerNormComposite(x, null, null, 1e-5) },
  ];
  for (const { name, f } of ALL) {
    it(`${name}: changing one token never changes another token's output`, () => {
      fc.assert(
        fc.property(
          matrix(),
          fc.nat(),
          fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 12, maxLength: 12 }),
          ({ rows, dim, values }, which, replacement) => {
            const r = which % rows;
            const changed = [...values];
            for (let j = 0; j < dim; j++) changed[r * dim + j] = replacement[j]!;
            const y0 = f(tensor(values, [rows, dim])).dataSync();
            const y1 = f(tensor(changed, [rows, dim])).dataSync();
            for (let k = 0; k < rows; k++) {
              if (k === r) continue;
              expect(Array.from(y1.subarray(k * dim, (k + 1) * dim))).toEqual(
                Array.from(y0.subarray(k * dim, (k + 1) * dim)),
              );
            }
          },
        ),
        RUNS,
      );
    });

    it(`${name}: a sequence's output does not depend on the rest of the batch`, () => {
      fc.assert(
        fc.property(
          matrix(),
          fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 96, maxLength: 96 }),
          ({ rows, dim, values }, others) => {
            const n = rows * dim;
            const seq = tensor(values, [1, rows, dim]);
            const before = tensor(others.slice(0, n), [1, rows, dim]);
            const after = tensor(others.slice(n, 2 * n), [1, rows, dim]);
            const alone = f(seq).dataSync();
            const batched = f(concat([before, seq, after], 0)).dataSync();
            expect(Array.from(batched.subarray(n, 2 * n))).toEqual(Array.from(alone));
          },
        ),
        { ...RUNS, numRuns: 30 },
      );
    });
  }
});
