import { describe, expect, it } from 'vitest';
import * as t from './index.js';

function stats(xs: ArrayLike<number>): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  const mean = s / xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(v / xs.length) };
}

describe('Rng (xoshiro128**)', () => {
  it('matches the reference xoshiro128** output for state [1, 2, 3, 4]', () => {
    const rng = new t.Rng();
    rng.setState([1, 2, 3, 4]);
    // first outputs of the reference C implementation from this state (checked by hand for the first three)
    expect([rng.nextU32(), rng.nextU32(), rng.nextU32(), rng.nextU32()]).toEqual([11520, 0, 5927040, 70819200]);
  });

  it('is deterministic per seed, and different seeds give different streams', () => {
    const draw = (seed: number) => {
      const r = new t.Rng(seed);
      return Array.from({ length: 20 }, () => r.nextU32());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(0)).not.toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    // nearby seeds are decorrelated from the first draw on
    expect(draw(1)[0]).not.toBe(draw(2)[0]);
    for (const v of draw(7)) expect(Number.isInteger(v) && v >= 0 && v <= 0xffffffff).toBe(true);
  });

  it('saves and restores its state, and a new generator resumes the stream bit for bit', () => {
    const rng = new t.Rng(123);
    for (let i = 0; i < 10; i++) rng.normal();
    const state = rng.getState();
    const expected = Array.from({ length: 8 }, () => [rng.nextU32(), rng.uniform(), rng.normal(), rng.int(7)]);
    rng.setState(state);
    expect(Array.from({ length: 8 }, () => [rng.nextU32(), rng.uniform(), rng.normal(), rng.int(7)])).toEqual(expected);
    const other = new t.Rng(999);
    other.setState(state);
    expect(Array.from({ length: 8 }, () => [other.nextU32(), other.uniform(), other.normal(), other.int(7)])).toEqual(
      expected,
    );
  });

  it('getState returns a copy that survives JSON (checkpoints)', () => {
    const rng = new t.Rng(5);
    const state = rng.getState();
    const saved = JSON.parse(JSON.stringify(state)) as number[];
    state[0] = 0;
    const a = rng.nextU32();
    rng.setState(saved);
    expect(rng.nextU32()).toBe(a);
  });

  it('setState rejects anything but four uint32 words', () => {
    const rng = new t.Rng(1);
    expect(() => rng.setState([1, 2, 3])).toThrow('Rng.setState: expected 4 uint32 words');
    expect(() => rng.setState([1, 2, 3, -1])).toThrow('Rng.setState');
    expect(() => rng.setState([1, 2, 3, 2 ** 32])).toThrow('Rng.setState');
    expect(() => rng.setState([1, 2, 3, 0.5])).toThrow('Rng.setState');
  });

  it('uniform() lies in [0, 1) with mean 1/2 and variance 1/12 over 10k samples', () => {
    const rng = new t.Rng(11);
    const xs = Float64Array.from({ length: 10_000 }, () => rng.uniform());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const { mean, std } = stats(xs);
    // standard error of the mean is 0.0029; 5 sigma
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.015);
    expect(Math.abs(std ** 2 - 1 / 12)).toBeLessThan(0.004);
  });

  it('int(n) covers [0, n) evenly and rejects a non-positive or fractional n', () => {
    const rng = new t.Rng(3);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 6000; i++) counts[rng.int(6)]!++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    expect(rng.int(1)).toBe(0);
    expect(() => rng.int(0)).toThrow('Rng.int: n must be a positive integer, got 0');
    expect(() => rng.int(2.5)).toThrow('Rng.int');
    expect(() => rng.int(-3)).toThrow('Rng.int');
  });

  it('normal() has mean 0, std 1 and the Gaussian 1-sigma mass over 10k samples', () => {
    const rng = new t.Rng(17);
    const xs = Float64Array.from({ length: 10_000 }, () => rng.normal());
    const { mean, std } = stats(xs);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(std - 1)).toBeLessThan(0.03);
    const within = xs.filter((x) => Math.abs(x) < 1).length / xs.length;
    expect(Math.abs(within - 0.6827)).toBeLessThan(0.025);
    expect(xs.every(Number.isFinite)).toBe(true);
  });
});

describe('randn / rand', () => {
  it('randn has the requested mean and std over 10k samples', () => {
    const x = t.randn([100, 100], { seed: 4, mean: 2, std: 0.5 });
    expect(x.shape).toEqual([100, 100]);
    const { mean, std } = stats(x.dataSync());
    expect(Math.abs(mean - 2)).toBeLessThan(0.025);
    expect(Math.abs(std - 0.5)).toBeLessThan(0.015);
    x.dispose();
  });

  it('is reproducible from a seed, and an explicit rng advances between calls', () => {
    const a = t.randn([50], { seed: 9 }).dataSync();
    expect(t.randn([50], { seed: 9 }).dataSync()).toEqual(a);
    expect(t.randn([50], { seed: 10 }).dataSync()).not.toEqual(a);
    const rng = new t.Rng(9);
    const first = t.randn([50], { rng }).dataSync();
    const second = t.randn([50], { rng }).dataSync();
    expect(first).toEqual(a);
    expect(second).not.toEqual(first);
    // the two calls together are the first 100 draws of the stream
    expect([...first, ...second]).toEqual([...t.randn([100], { seed: 9 }).dataSync()]);
  });

  it('rand draws uniformly from [low, high)', () => {
    const x = t.rand([10_000], { seed: 2, low: -3, high: 5 }).dataSync();
    expect(Math.min(...x)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...x)).toBeLessThan(5);
    const { mean, std } = stats(x);
    expect(Math.abs(mean - 1)).toBeLessThan(0.12);
    expect(Math.abs(std - 8 / Math.sqrt(12))).toBeLessThan(0.06);
  });

  it('reject invalid shapes naming the op', () => {
    expect(() => t.randn([2, -1])).toThrow('randn: invalid shape [2,-1]: dims must be integers >= 0');
    expect(() => t.rand([1.5])).toThrow('rand: invalid shape [1.5]');
    expect(t.randn([0, 3]).size).toBe(0);
  });
});
