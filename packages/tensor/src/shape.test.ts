import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as t from './index.js';
import { broadcastPairArb, shapeArb } from './testing/index.js';

describe('broadcastShapes', () => {
  it('gives the NumPy broadcast shape, whatever the order of the operands', () => {
    fc.assert(
      fc.property(broadcastPairArb(), ({ a, b, out }) => {
        expect(t.broadcastShapes('op', a, b)).toEqual(out);
        expect(t.broadcastShapes('op', b, a)).toEqual(out);
      }),
      { numRuns: 300 },
    );
  });

  it('is associative and has the scalar shape as identity', () => {
    fc.assert(
      fc.property(broadcastPairArb(), shapeArb({ maxRank: 2 }), ({ a, b }, c0) => {
        // c is built to broadcast with a and b: ones, or a's trailing dims
        const c = c0.map((d, i) => (d % 2 === 0 ? 1 : (a[a.length - c0.length + i] ?? 1)));
        const left = t.broadcastShapes('op', t.broadcastShapes('op', a, b), c);
        const right = t.broadcastShapes('op', a, t.broadcastShapes('op', b, c));
        expect(left).toEqual(right);
        expect(t.broadcastShapes('op', a, [])).toEqual(a);
      }),
      { numRuns: 200 },
    );
  });

  it('names the op, both shapes and the offending dim when shapes do not broadcast', () => {
    expect(() => t.broadcastShapes('add', [2, 3], [4, 3])).toThrow(
      'add: [2,3] and [4,3] do not broadcast: dim 0 is 2 vs 4 (each pair must be equal or 1)',
    );
    expect(() => t.broadcastShapes('mul', [5], [2, 3])).toThrow(
      /^mul: \[5\] and \[2,3\] do not broadcast: dim 1 is 5 vs 3/,
    );
    expect(() => t.broadcastShapes('add', [2], [3])).toThrow(t.ShapeError);
  });

  it('broadcasts size-0 dims against 1 and rejects them against other sizes', () => {
    expect(t.broadcastShapes('op', [0, 3], [1, 3])).toEqual([0, 3]);
    expect(t.broadcastShapes('op', [0], [])).toEqual([0]);
    expect(() => t.broadcastShapes('op', [0], [2])).toThrow('op: [0] and [2] do not broadcast');
  });
});

describe('shape helpers', () => {
  it('sizeOf, stridesOf and formatShape', () => {
    expect(t.sizeOf([])).toBe(1);
    expect(t.sizeOf([2, 3, 4])).toBe(24);
    expect(t.sizeOf([2, 0, 4])).toBe(0);
    expect(t.stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(t.stridesOf([])).toEqual([]);
    expect(t.formatShape([])).toBe('[]');
    expect(t.formatShape([2, 3])).toBe('[2,3]');
  });

  it('row-major strides enumerate every flat index exactly once', () => {
    fc.assert(
      fc.property(shapeArb({ maxRank: 4 }), (shape) => {
        const str = t.stridesOf(shape);
        const seen = new Set<number>();
        const rec = (d: number, off: number): void => {
          if (d === shape.length) {
            seen.add(off);
            return;
          }
          for (let i = 0; i < shape[d]!; i++) rec(d + 1, off + i * str[d]!);
        };
        rec(0, 0);
        expect(seen.size).toBe(t.sizeOf(shape));
        expect(Math.max(...seen)).toBe(t.sizeOf(shape) - 1);
      }),
      { numRuns: 100 },
    );
  });

  it('normalizeAxis resolves negative axes and rejects out-of-range or fractional ones', () => {
    expect(t.normalizeAxis('sum', -1, 3)).toBe(2);
    expect(t.normalizeAxis('sum', -3, 3)).toBe(0);
    expect(t.normalizeAxis('sum', 2, 3)).toBe(2);
    expect(() => t.normalizeAxis('sum', 3, 3)).toThrow('sum: axis 3 is out of range for a tensor of rank 3');
    expect(() => t.normalizeAxis('sum', -4, 3)).toThrow('sum: axis -4 is out of range for a tensor of rank 3');
    expect(() => t.normalizeAxis('sum', 0.5, 3)).toThrow(t.ShapeError);
    expect(() => t.normalizeAxis('sum', 0, 0)).toThrow('rank 0');
  });

  it('axisSplit views a shape as [outer, len, inner] around an axis', () => {
    expect(t.axisSplit([2, 3, 4, 5], 0)).toEqual({ outer: 1, len: 2, inner: 60 });
    expect(t.axisSplit([2, 3, 4, 5], 2)).toEqual({ outer: 6, len: 4, inner: 5 });
    expect(t.axisSplit([2, 3, 4, 5], 3)).toEqual({ outer: 24, len: 5, inner: 1 });
  });

  it('sameShape compares rank and dims', () => {
    expect(t.sameShape([2, 3], [2, 3])).toBe(true);
    expect(t.sameShape([2, 3], [3, 2])).toBe(false);
    expect(t.sameShape([1, 3], [3])).toBe(false);
    expect(t.sameShape([], [])).toBe(true);
  });
});
