import { describe, expect, it } from 'vitest';
import { broadcastStrides, coalesce, contiguousStrides, type Grid, largestDivisorAtMost, toGrid } from './grid.js';

/** Every element's operand offsets, walking the grid the way the kernels do. */
function offsets(g: Grid, operand: number): number[] {
  const out: number[] = [];
  const [d0, d1, d2, d3, d4, d5] = g.dims as [number, number, number, number, number, number];
  const s = g.strides[operand]!;
  for (let i0 = 0; i0 < d0; i0++)
    for (let i1 = 0; i1 < d1; i1++)
      for (let i2 = 0; i2 < d2; i2++)
        for (let i3 = 0; i3 < d3; i3++)
          for (let i4 = 0; i4 < d4; i4++)
            for (let i5 = 0; i5 < d5; i5++)
              out.push(i0 * s[0]! + i1 * s[1]! + i2 * s[2]! + i3 * s[3]! + i4 * s[4]! + i5 * s[5]!);
  return out;
}

function naive(dims: number[], strides: number[]): number[] {
  const out: number[] = [];
  const walk = (k: number, acc: number) => {
    if (k === dims.length) return void out.push(acc);
    for (let i = 0; i < dims[k]!; i++) walk(k + 1, acc + i * strides[k]!);
  };
  walk(0, 0);
  return out;
}

describe('grid layout', () => {
  it('coalesces contiguous and broadcast dims and drops size-1 dims', () => {
    const out = [2, 1, 3, 4];
    const c = coalesce({ dims: out, strides: [contiguousStrides(out), broadcastStrides([3, 4], out)] });
    expect(c.dims).toEqual([2, 12]);
    expect(c.strides).toEqual([
      [12, 1],
      [0, 1],
    ]);
  });

  it('finds divisors under a limit', () => {
    expect(largestDivisorAtMost(100, 30)).toBe(25);
    expect(largestDivisorAtMost(97, 30)).toBe(1);
    expect(largestDivisorAtMost(20, 30)).toBe(20);
  });

  it.each([
    { dims: [5, 7, 3], limits: { xy: 8, z: 8 } },
    { dims: [2, 3, 4, 5, 6], limits: { xy: 64, z: 64 } },
    { dims: [3, 64, 2], limits: { xy: 16, z: 8 } },
    { dims: [4, 3, 2, 5], limits: { xy: 6, z: 6 } },
    { dims: [64], limits: { xy: 8, z: 8 } },
    { dims: [3, 64], limits: { xy: 8, z: 8 } },
    { dims: [], limits: { xy: 8, z: 8 } },
  ])('lays out $dims under $limits with the same offsets', ({ dims, limits }) => {
    const perm = dims.map((_, i) => dims.length - 1 - i); // a transpose: nothing coalesces
    const inStr = contiguousStrides(dims);
    const outDims = perm.map((p) => dims[p]!);
    const strides = perm.map((p) => inStr[p]!);
    const g = toGrid('test', { dims: outDims, strides: [strides] }, limits);
    expect(g.dims.length).toBe(6);
    expect(g.output[0]).toBeLessThanOrEqual(limits.xy);
    expect(g.output[1]).toBeLessThanOrEqual(limits.xy);
    expect(g.output[2]).toBeLessThanOrEqual(limits.z);
    expect(offsets(g, 0)).toEqual(naive(outDims, strides));
  });

  it('splits only box dims the box covers in whole blocks', () => {
    const g = toGrid('pad', { dims: [64], strides: [[1]], box: { begin: [8], size: [16] } }, { xy: 8, z: 8 });
    expect(g.output[0]).toBeLessThanOrEqual(8);
    expect(g.box!.size.reduce((a, b) => a * b, 1)).toBe(16);
  });

  it('throws a clear error when no split fits', () => {
    expect(() => toGrid('test', { dims: [97, 2], strides: [[1, 97]] }, { xy: 8, z: 8 })).toThrow(/dispatch grid/);
  });
});
