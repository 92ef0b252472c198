import { Rng } from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { BatchSampler, CharDataset, evalBatches } from './dataset.js';
import { DataError } from './errors.js';
import { CharVocab } from './vocab.js';

function dataset(text: string): CharDataset {
  return new CharDataset(text, CharVocab.fromText(text));
}

/** 0, 1, ..., n-1: a window's tokens then give away where it starts. */
function ramp(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

describe('CharDataset', () => {
  it('splits the first 90% for training and the last 10% for validation', () => {
    const text = 'abcdefghij'.repeat(10);
    const ds = dataset(text);
    expect(ds.tokens.length).toBe(100);
    expect(ds.train.length).toBe(90);
    expect(ds.val.length).toBe(10);
    expect(ds.vocab.decode(ds.train)).toBe(text.slice(0, 90));
    expect(ds.vocab.decode(ds.split('val'))).toBe(text.slice(90));
  });

  it('counts characters, not UTF-16 units', () => {
    const ds = dataset('😀a'.repeat(50));
    expect(ds.tokens.length).toBe(100);
    expect(ds.train.length).toBe(90);
  });

  it('accepts a context length that both splits can hold', () => {
    const ds = dataset('abcdefghij'.repeat(10));
    expect(() => ds.validate(9)).not.toThrow(); // val has 10 tokens: one window of 9 plus its target
  });

  it('names the split, its length and the context length when a split is too short', () => {
    const ds = dataset('abcdefghij'.repeat(10));
    expect(() => ds.validate(10)).toThrow(DataError);
    expect(() => ds.validate(10)).toThrow(/the val split has 10 tokens but context length 10 needs at least 11/);
    expect(() => ds.validate(100)).toThrow(/the train split has 90 tokens but context length 100 needs at least 101/);
  });

  it('refuses a corpus of one distinct character', () => {
    const ds = dataset('a'.repeat(1000));
    expect(() => ds.validate(8)).toThrow(
      'the corpus holds only one distinct character ("a"): there is nothing to learn',
    );
  });

  it('refuses a context length that is not a positive integer', () => {
    const ds = dataset('abcdefghij'.repeat(10));
    expect(() => ds.validate(0)).toThrow('contextLength must be a positive integer, got 0');
    expect(() => ds.validate(2.5)).toThrow(DataError);
  });
});

describe('BatchSampler', () => {
  it('draws B contiguous windows with y = x shifted by one, row-major [B, T]', () => {
    const B = 4;
    const T = 8;
    const data = ramp(50);
    const sampler = new BatchSampler(data, B, T, new Rng(1));
    for (let step = 0; step < 20; step++) {
      const { x, y } = sampler.next();
      expect(x.length).toBe(B * T);
      expect(y.length).toBe(B * T);
      for (let b = 0; b < B; b++) {
        const start = x[b * T]!;
        expect(start).toBeGreaterThanOrEqual(0);
        expect(start).toBeLessThanOrEqual(data.length - T - 1);
        for (let t = 0; t < T; t++) {
          expect(x[b * T + t]).toBe(start + t);
          expect(y[b * T + t]).toBe(start + t + 1);
        }
      }
    }
  });

  it('reaches every start position, the last one included', () => {
    const T = 4;
    const data = ramp(10);
    const sampler = new BatchSampler(data, 16, T, new Rng(3));
    const starts = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const { x } = sampler.next();
      for (let b = 0; b < 16; b++) starts.add(x[b * T]!);
    }
    expect([...starts].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('is deterministic given the Rng seed', () => {
    const data = ramp(1000);
    const a = new BatchSampler(data, 4, 16, new Rng(42));
    const b = new BatchSampler(data, 4, 16, new Rng(42));
    const c = new BatchSampler(data, 4, 16, new Rng(43));
    const fromA = [a.next(), a.next(), a.next()];
    expect([b.next(), b.next(), b.next()]).toEqual(fromA);
    expect(c.next()).not.toEqual(fromA[0]);
  });

  it('resumes from saved state with exactly the batches an uninterrupted run draws', () => {
    const data = ramp(1000);
    const run = new BatchSampler(data, 4, 16, new Rng(7));
    for (let i = 0; i < 5; i++) run.next();
    const saved = run.getState();
    const expected = [run.next(), run.next(), run.next()];

    // a fresh process: a differently seeded Rng, then the checkpointed state (through JSON, as a checkpoint stores it)
    const resumed = new BatchSampler(data, 4, 16, new Rng(999));
    resumed.setState(JSON.parse(JSON.stringify(saved)));
    expect([resumed.next(), resumed.next(), resumed.next()]).toEqual(expected);
    expect(resumed.getState()).toEqual(run.getState());
  });

  it('refuses a split too short for one window and bad sizes', () => {
    expect(() => new BatchSampler(ramp(8), 2, 8, new Rng(0))).toThrow(DataError);
    expect(() => new BatchSampler(ramp(8), 2, 8, new Rng(0))).toThrow(/8 tokens is too short for context length 8/);
    expect(() => new BatchSampler(ramp(9), 2, 8, new Rng(0))).not.toThrow();
    expect(() => new BatchSampler(ramp(100), 0, 8, new Rng(0))).toThrow('batchSize must be a positive integer, got 0');
    expect(() => new BatchSampler(ramp(100), 2, -1, new Rng(0))).toThrow(/contextLength must be a positive integer/);
  });
});

describe('evalBatches', () => {
  it('gives the same fixed list of batches for the same seed', () => {
    const data = ramp(500);
    const first = evalBatches(data, 4, 8, 5, 1234);
    expect(first).toHaveLength(5);
    expect(evalBatches(data, 4, 8, 5, 1234)).toEqual(first);
    expect(evalBatches(data, 4, 8, 5, 1235)).not.toEqual(first);
    for (const { x, y } of first) {
      expect(x.length).toBe(32);
      expect(y[0]).toBe(x[0]! + 1);
    }
  });

  it('does not depend on or disturb the training sampler', () => {
    const data = ramp(500);
    const train = new BatchSampler(data, 4, 8, new Rng(5));
    const before = train.getState();
    const evalA = evalBatches(data, 4, 8, 3, 99);
    train.next();
    expect(evalBatches(data, 4, 8, 3, 99)).toEqual(evalA);
    const fresh = new BatchSampler(data, 4, 8, new Rng(5));
    expect(fresh.getState()).toEqual(before);
  });

  it('refuses a count that is not a positive integer', () => {
    expect(() => evalBatches(ramp(100), 2, 8, 0, 1)).toThrow('count must be a positive integer, got 0');
  });
});
