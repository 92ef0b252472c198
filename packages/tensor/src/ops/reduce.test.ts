import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as t from '../index.js';
import { expectClose, F32_EPS, randomNormals, seedArb, shapeArb } from '../testing/index.js';

/** Reduces over any set of axes by walking every element (independent of the one-axis-at-a-time kernel path). */
function reduceAll(
  op: 'sum' | 'max' | 'mean',
  x: ArrayLike<number>,
  shape: readonly number[],
  axes: readonly number[],
): { values: Float64Array; mag: Float64Array; keptShape: number[] } {
  const keptShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const n = t.sizeOf(keptShape);
  const values = new Float64Array(n).fill(op === 'max' ? Number.NEGATIVE_INFINITY : 0);
  const mag = new Float64Array(n);
  const str = t.stridesOf(shape);
  const outStr = t.stridesOf(keptShape);
  let count = 1;
  for (const a of axes) count *= shape[a]!;
  for (let i = 0; i < x.length; i++) {
    let o = 0;
    for (let d = 0; d < shape.length; d++) {
      const idx = Math.floor(i / str[d]!) % shape[d]!;
      if (!axes.includes(d)) o += idx * outStr[d]!;
    }
    const v = x[i]!;
    values[o] = op === 'max' ? Math.max(values[o]!, v) : values[o]! + (op === 'mean' ? v / count : v);
    mag[o]! += Math.abs(v);
  }
  return { values, mag, keptShape };
}

const axesOf = (rank: number, picks: boolean[]) => picks.slice(0, rank).flatMap((p, i) => (p ? [i] : []));

describe('sum / max / mean', () => {
  for (const op of ['sum', 'max', 'mean'] as const) {
    it(`${op} over random axes (negative, keepDims) matches a naive reference`, () => {
      fc.assert(
        fc.property(
          shapeArb({ minRank: 1, maxRank: 4, maxDim: 5 }),
          fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
          fc.boolean(),
          fc.boolean(),
          seedArb,
          (shape, picks, keepDims, negative, seed) => {
            const axes = axesOf(shape.length, picks);
            const v = randomNormals(new t.Rng(seed), t.sizeOf(shape));
            const x = t.tensor(v, shape);
            const given = negative ? axes.map((a) => a - shape.length) : axes;
            const y = { sum: t.sum, max: t.max, mean: t.mean }[op](x, given, { keepDims });
            const ref = reduceAll(op, v, shape, axes);
            const expectedShape = keepDims ? ref.keptShape : shape.filter((_, i) => !axes.includes(i));
            expect(y.shape).toEqual(expectedShape);
            // each reduced axis rounds to float32 once; accumulation is in float64
            const bound = op === 'max' ? 0 : ref.mag.map((m) => 2 * (axes.length + 1) * F32_EPS * m);
            expectClose(y.dataSync(), ref.values, bound, `${op} ${t.formatShape(shape)} axes [${given}]`);
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  it('no axes argument reduces everything to a scalar; an empty list reduces nothing', () => {
    const x = t.tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(t.sum(x).shape).toEqual([]);
    expect(t.sum(x).itemSync()).toBe(10);
    expect(x.max().itemSync()).toBe(4);
    expect(x.mean().itemSync()).toBe(2.5);
    expect(t.sum(x, []).dataSync()).toEqual(x.dataSync());
    expect(t.sum(x, [1, 1, -1]).dataSync()).toEqual(Float32Array.from([3, 7]));
    expect(t.mean(x, [0, -2]).dataSync()).toEqual(Float32Array.from([2, 3]));
    expect(t.sum(t.scalar(5)).itemSync()).toBe(5);
  });

  it('max is exact on negative rows (accumulator starts at -Infinity)', () => {
    expect(Array.from(t.max(t.tensor([[-5, -2, -9]]), 1).dataSync())).toEqual([-2]);
  });

  it('empty axes: sum is 0, max is -Infinity, mean is NaN', () => {
    const e = t.zeros([2, 0]);
    expect(Array.from(t.sum(e, 1).dataSync())).toEqual([0, 0]);
    expect(Array.from(t.max(e, 1).dataSync())).toEqual([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    expect(t.mean(e, 1).dataSync().every(Number.isNaN)).toBe(true);
    expect(t.sum(t.zeros([0, 3]), 1).shape).toEqual([0]);
  });

  it('NaN propagates (not thrown): max returns NaN wherever a NaN is, sum and mean too', () => {
    const x = t.tensor([
      [1, Number.NaN, 3],
      [4, 5, 6],
    ]);
    for (const op of [t.sum, t.max, t.mean]) {
      const y = op(x, 1).dataSync();
      expect(Number.isNaN(y[0])).toBe(true);
      expect(Number.isNaN(y[1])).toBe(false);
    }
    expect(Number.isNaN(t.max(t.tensor([Number.NaN, 1, 2])).itemSync())).toBe(true);
    expect(Number.isNaN(t.max(t.tensor([1, 2, Number.NaN])).itemSync())).toBe(true);
  });

  it('bad axes name the op and the rank', () => {
    const x = t.ones([2, 3]);
    expect(() => t.sum(x, 2)).toThrow('sum: axis 2 is out of range for a tensor of rank 2');
    expect(() => t.max(x, -3)).toThrow('max: axis -3 is out of range for a tensor of rank 2');
    expect(() => t.mean(x, 0.5)).toThrow('mean: axis 0.5 is out of range');
    expect(() => t.sum(t.scalar(1), 0)).toThrow('sum: axis 0 is out of range for a tensor of rank 0');
  });
});
