import { assertGradcheck } from '@tinyformer/autograd';
import { concat, randn, type Tensor, TensorError, tensor } from '@tinyformer/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRope } from './rope.js';

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** One head vector placed at a single position: shape (1, 1, 1, hd). */
function at(values: readonly number[], pos: number, base?: number): Float32Array {
  return applyRope(tensor(values, [1, 1, 1, values.length]), pos, base).dataSync();
}

const vec = (hd: number) => fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: hd, maxLength: hd });

describe('applyRope', () => {
  it('position 0 is the identity', () => {
    const x = randn([2, 3, 1, 8], { seed: 1 });
    expect(Array.from(applyRope(x, 0).dataSync())).toEqual(Array.from(x.dataSync()));
  });

  it('rotates pair (x[i], x[i + hd/2]) by pos * base^(-2i/hd) ("rotate half" layout)', () => {
    const hd = 4;
    const x = [1, 2, 3, 4]; // pairs (1, 3) and (2, 4)
    const pos = 5;
    const y = at(x, pos, 100);
    const want = new Array(hd);
    for (let i = 0; i < hd / 2; i++) {
      const a = pos * 100 ** ((-2 * i) / hd);
      const x1 = x[i]!;
      const x2 = x[i + hd / 2]!;
      want[i] = x1 * Math.cos(a) - x2 * Math.sin(a);
      want[i + hd / 2] = x1 * Math.sin(a) + x2 * Math.cos(a);
    }
    for (let i = 0; i < hd; i++) expect(y[i]).toBeCloseTo(want[i], 5);
  });

  it('preserves the norm of every rotated pair', () => {
    fc.assert(
      fc.property(vec(8), fc.integer({ min: 0, max: 2048 }), (x, pos) => {
        const y = at(x, pos);
        for (let i = 0; i < 4; i++) {
          const before = Math.hypot(x[i]!, x[i + 4]!);
          const after = Math.hypot(y[i]!, y[i + 4]!);
          expect(Math.abs(after - before)).toBeLessThan(1e-5 * (1 + before));
        }
      }),
      { numRuns: 100, seed: 1 },
    );
  });

  it('q.k after RoPE depends only on the position difference: (m, n) and (m + s, n + s) agree', () => {
    fc.assert(
      fc.property(
        vec(8),
        vec(8),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 1, max: 500 }),
        (q, k, m, n, s) => {
          const d1 = dot(at(q, m), at(k, n));
          const d2 = dot(at(q, m + s), at(k, n + s));
          expect(Math.abs(d1 - d2)).toBeLessThan(1e-4 * (1 + Math.abs(d1)));
        },
      ),
      { numRuns: 100, seed: 2 },
    );
  });

  it('the relative-position check is not vacuous: a different offset changes q.k', () => {
    const q = [1, 0.5, -0.3, 0.8];
    const k = [0.2, -1, 0.7, 0.4];
    const d1 = dot(at(q, 3), at(k, 1));
    const d2 = dot(at(q, 3), at(k, 2));
    expect(Math.abs(d1 - d2)).toBeGreaterThan(1e-2);
  });

  it('startPos offsets every position: a chunk at startPos equals the tail of the whole sequence', () => {
    const x = randn([2, 2, 7, 6], { seed: 3 });
    const whole = applyRope(x, 0);
    const tail = applyRope(x.slice([0, 0, 4, 0], [2, 2, 3, 6]), 4);
    expect(Array.from(tail.dataSync())).toEqual(Array.from(whole.slice([0, 0, 4, 0], [2, 2, 3, 6]).dataSync()));
    // and concatenating chunks reproduces the whole
    const head = applyRope(x.slice([0, 0, 0, 0], [2, 2, 4, 6]), 0);
    expect(Array.from(concat([head, tail], 2).dataSync())).toEqual(Array.from(whole.dataSync()));
  });

  it('the base sets the frequencies', () => {
    const x = [1, 1, 0, 0];
    expect(Math.abs(at(x, 3, 10)[1]! - at(x, 3, 10000)[1]!)).toBeGreaterThan(1e-2);
  });

  it('refuses an odd head dim', () => {
    expect(() => applyRope(randn([1, 1, 2, 5]), 0)).toThrow(TensorError);
    expect(() => applyRope(randn([1, 1, 2, 5]), 0)).toThrow('rope: head dim must be even, got 5 in [1,1,2,5]');
  });

  it('gradcheck (float64)', () => {
    const spec = (shape: number[], seed: number) => ({ values: randn(shape, { seed }).dataSync(), shape });
    assertGradcheck((x: Tensor) => applyRope(x, 0), [spec([1, 2, 3, 4], 4)]);
    assertGradcheck((x: Tensor) => applyRope(x, 7, 50), [spec([2, 1, 2, 6], 5)]);
  });
});
