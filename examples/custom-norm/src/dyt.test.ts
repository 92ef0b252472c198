import { assertGradcheck } from '@tinyformer/autograd';
import { type Batch, DecoderLM, Trainer } from '@tinyformer/model';
import { createNorm, normKinds } from '@tinyformer/norm';
import { CpuBackend, Rng, randn, setBackend, tensor } from '@tinyformer/tensor';
import { describeOpConformance } from '@tinyformer/tensor/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DyT, dyt, dytBackwardOp, dytOp } from './index.js';

afterEach(() => setBackend(new CpuBackend()));

const input = (shape: number[], seed: number, std = 1, mean = 0) => ({
  values: randn(shape, { seed, std, mean }).dataSync(),
  shape,
});

describe('the dyt op', () => {
  it('gradcheck in float64: x, alpha, g and b (and without the affine pair)', () => {
    assertGradcheck(
      (x, a, g, b) => dyt(x, a, g, b),
      [input([3, 5], 1, 2), input([1], 2, 0.2, 0.7), input([5], 3, 0.5, 1), input([5], 4)],
    );
    assertGradcheck((x, a) => dyt(x, a, null, null), [input([2, 3, 4], 5, 3), input([1], 6, 0.1, 0.5)]);
  });

  it('the CPU kernels run by default, and equal the composite (also on a backend without kernels)', () => {
    const b = new CpuBackend();
    expect(dytOp.kernelFor(b)).not.toBeNull();
    expect(dytBackwardOp.kernelFor(b)).not.toBeNull();
    const x = tensor(randn([4, 6], { seed: 7, std: 2 }).dataSync(), [4, 6], { backend: b });
    const a = tensor([0.8], [1], { backend: b });
    const [g, s] = [
      tensor(randn([6], { seed: 8 }).dataSync(), [6], { backend: b }),
      tensor(randn([6], { seed: 9 }).dataSync(), [6], { backend: b }),
    ];
    const fused = dytOp.apply([x, a, g, s], { affine: true })[0]!.dataSync();
    const comp = dytOp.applyComposite([x, a, g, s], { affine: true })[0]!.dataSync();
    for (let i = 0; i < fused.length; i++) expect(Math.abs(fused[i]! - comp[i]!)).toBeLessThan(1e-6);
  });

  it('bad input gets named errors', () => {
    const x = randn([2, 4], { seed: 1 });
    expect(() => dyt(x, randn([2], { seed: 2 }), null, null)).toThrow('dyt: alpha must be one value [1], got [2]');
    expect(() => dyt(x, randn([1], { seed: 2 }), randn([3], { seed: 3 }), randn([3], { seed: 4 }))).toThrow(
      'dyt: scale [3] must be [4] for input [2,4]',
    );
    expect(() => dyt(x, randn([1], { seed: 2 }), randn([4], { seed: 3 }), null)).toThrow(
      'dyt: scale and shift come together (or neither)',
    );
  });
});

// the kernels against float64 composites, forward and backward, with the core packages' own conformance runner
describeOpConformance('cpu', () => new CpuBackend(), { ops: ['dyt'] });
describeOpConformance('cpu (no arena)', () => new CpuBackend({ arena: false }), { ops: ['dyt'] });
describeOpConformance('cpu (float64)', () => new CpuBackend({ precision: 'float64' }), { ops: ['dyt'] });

describe("norm kind 'dyt'", () => {
  it('is registered by importing the package, and createNorm builds it with alpha 0.5, g 1, b 0', () => {
    expect(normKinds()).toContain('dyt');
    const n = createNorm({ kind: 'dyt' }, 8) as DyT;
    expect(n).toBeInstanceOf(DyT);
    expect(n.namedParameters().map(([k]) => k)).toEqual(['alpha', 'weight', 'bias']);
    expect(n.alpha.itemSync()).toBe(0.5);
    expect(
      createNorm({ kind: 'dyt', affine: false }, 8)
        .namedParameters()
        .map(([k]) => k),
    ).toEqual(['alpha']);
  });

  it("DecoderLM takes norm: { kind: 'dyt' } and a 300-step charlm-sized run learns", async () => {
    const text =
      'the quick brown fox jumps over the lazy dog. a stitch in time saves nine. ' +
      'all that glitters is not gold. the early bird catches the worm. ' +
      'actions speak louder than words. practice makes perfect. ';
    const chars = [...new Set(text)].sort();
    const ids = Int32Array.from(text, (c) => chars.indexOf(c));
    const T = 32;
    const B = 12;
    const model = new DecoderLM(
      { vocabSize: chars.length, contextLength: T, dModel: 64, nLayers: 2, nHeads: 4, norm: { kind: 'dyt' } },
      { seed: 3 },
    );
    expect(model.config.norm.kind).toBe('dyt');
    expect(model.namedParameters().some(([k]) => k.endsWith('norm1.alpha'))).toBe(true);
    const trainer = new Trainer(model, { schedule: { lr: 3e-3, warmup: 20, decaySteps: 300, minLr: 3e-4 } });
    const rng = new Rng(5);
    const nextBatch = (): Batch => {
      const x = new Int32Array(B * T);
      const y = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const at = Math.floor(rng.uniform() * (ids.length - T - 1));
        x.set(ids.subarray(at, at + T), b * T);
        y.set(ids.subarray(at + 1, at + T + 1), b * T);
      }
      return { x, y, batchSize: B, contextLength: T };
    };
    const losses: number[] = [];
    for (let s = 0; s < 300; s++) losses.push((await trainer.trainStep(nextBatch)).loss);
    const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
    const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
    // starts near ln(vocab); a model that learns more than character frequencies ends well below the unigram
    // entropy of the text (what a model without context can reach)
    const counts = chars.map((c) => [...text].filter((x) => x === c).length / text.length);
    const unigram = -counts.reduce((a, p) => a + p * Math.log(p), 0);
    expect(first).toBeGreaterThan(Math.log(chars.length) - 0.5);
    expect(last).toBeLessThan(unigram - 0.75);
    const alphas = model.namedParameters().filter(([k]) => k.endsWith('.alpha'));
    expect(alphas.every(([, p]) => p.itemSync() !== 0.5)).toBe(true);
  }, 120_000);
});
