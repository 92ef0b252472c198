import { Parameter } from '@tinyformer/autograd';
import { TensorError, tensor, zeros } from '@tinyformer/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecoderLM } from './decoder-lm.js';
import { AdamW, clipScale, gradNormSquared, type LrSchedule, learningRate } from './optim.js';

function param(values: number[], name = 'p'): Parameter {
  return new Parameter(tensor(values), name);
}

function setGrad(p: Parameter, g: number[]): void {
  p.zeroGrad();
  p.grad = tensor(g).keep();
}

/** Reference AdamW for one parameter (float64), Loshchilov & Hutter with bias correction. */
class RefAdamW {
  m: number[];
  v: number[];
  t = 0;
  constructor(
    public p: number[],
    readonly o: { lr: number; beta1: number; beta2: number; eps: number; wd: number },
  ) {
    this.m = p.map(() => 0);
    this.v = p.map(() => 0);
  }
  step(g: number[]): void {
    const { lr, beta1, beta2, eps, wd } = this.o;
    this.t++;
    this.p = this.p.map((pi, i) => {
      this.m[i] = beta1 * this.m[i]! + (1 - beta1) * g[i]!;
      this.v[i] = beta2 * this.v[i]! + (1 - beta2) * g[i]! ** 2;
      const mh = this.m[i]! / (1 - beta1 ** this.t);
      const vh = this.v[i]! / (1 - beta2 ** this.t);
      return pi - lr * wd * pi - (lr * mh) / (Math.sqrt(vh) + eps);
    });
  }
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++)
    expect(Math.abs(a[i]! - b[i]!), `element ${i}: ${a[i]} vs ${b[i]}`).toBeLessThan(tol);
}

describe('AdamW', () => {
  const hp = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.1 };

  it('one step matches a hand computation: update = lr * g/(|g|+eps) at t=1, plus decoupled decay', () => {
    const p = param([1, -2, 0.5, 3]);
    const g = [0.2, -0.1, 0.05, 0];
    const opt = new AdamW([{ params: [p], weightDecay: hp.wd }], {
      lr: hp.lr,
      beta1: hp.beta1,
      beta2: hp.beta2,
      eps: hp.eps,
    });
    setGrad(p, g);
    opt.update();
    expect(opt.step).toBe(1);
    // at t = 1 the bias-corrected moments are g and g^2 exactly
    const want = [1, -2, 0.5, 3].map((x, i) => x * (1 - hp.lr * hp.wd) - (hp.lr * g[i]!) / (Math.abs(g[i]!) + hp.eps));
    expectClose(p.dataSync(), want);
    // spelled out for the first element: 1 * 0.999 - 0.01 * 0.2 / 0.20000001
    expect(p.dataSync()[0]).toBeCloseTo(0.999 - 0.01, 6);
  });

  it('several steps match the reference (bias correction over steps, varying gradients)', () => {
    const init = [0.3, -0.7, 1.2];
    const p = param(init);
    const ref = new RefAdamW(init, hp);
    const opt = new AdamW([{ params: [p], weightDecay: hp.wd }], {
      lr: hp.lr,
      beta1: hp.beta1,
      beta2: hp.beta2,
      eps: hp.eps,
    });
    const grads = [
      [0.5, -0.2, 0.1],
      [-0.3, 0.4, 0.1],
      [0.01, 0.02, -0.5],
      [1, 1, 1],
    ];
    for (const g of grads) {
      setGrad(p, g);
      opt.update();
      ref.step(g);
      expectClose(p.dataSync(), ref.p);
    }
  });

  it('gradScale multiplies the gradient before the moments', () => {
    const a = param([1, 2]);
    const b = param([1, 2]);
    const oa = new AdamW([{ params: [a], weightDecay: 0 }], { lr: 0.1 });
    const ob = new AdamW([{ params: [b], weightDecay: 0 }], { lr: 0.1 });
    for (const [g, s] of [
      [[0.4, -0.2], 0.25],
      [[1, 0.6], 0.5],
    ] as [number[], number][]) {
      setGrad(a, g);
      oa.update(s);
      setGrad(
        b,
        g.map((x) => x * s),
      );
      ob.update();
    }
    expectClose(a.dataSync(), b.dataSync(), 1e-7);
  });

  it('weight decay is decoupled: with a zero gradient the weights shrink by exactly (1 - lr*wd)', () => {
    const p = param([2, -4, 0.001]);
    const opt = new AdamW([{ params: [p], weightDecay: 0.5 }], { lr: 0.1 });
    setGrad(p, [0, 0, 0]);
    opt.update();
    // L2-in-the-gradient Adam would move each weight by ~lr regardless of its size
    expectClose(p.dataSync(), [2 * 0.95, -4 * 0.95, 0.001 * 0.95], 1e-7);
  });

  it('parameters without a gradient are left alone', () => {
    const a = param([1, 2], 'a');
    const b = param([3, 4], 'b');
    const opt = new AdamW([{ params: [a, b], weightDecay: 0.1 }], { lr: 0.1 });
    setGrad(a, [1, 1]);
    opt.update();
    expect(Array.from(b.dataSync())).toEqual([3, 4]);
    expect(Array.from(a.dataSync())).not.toEqual([1, 2]);
  });

  it('state round trip: a restored optimizer continues exactly like the original', async () => {
    const a = param([0.5, -1, 2], 'w');
    const opt = new AdamW([{ params: [a], weightDecay: 0.1 }], { lr: 0.05 });
    for (const g of [
      [0.1, 0.2, -0.3],
      [0.3, -0.1, 0.2],
    ]) {
      setGrad(a, g);
      opt.update();
    }
    const state = await opt.getState();
    expect(state.step).toBe(2);
    expect(Object.keys(state.m)).toEqual(['w']);
    const b = param(Array.from(a.dataSync()), 'w');
    const opt2 = new AdamW([{ params: [b], weightDecay: 0.1 }], { lr: 0.05 });
    opt2.loadState(state);
    expect(opt2.step).toBe(2);
    for (const [o, p] of [
      [opt, a],
      [opt2, b],
    ] as const) {
      setGrad(p, [-0.2, 0.5, 0.1]);
      o.update();
    }
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    // state loaded into a fresh optimizer with a missing or mis-sized entry is refused
    const c = param([0, 0], 'w');
    expect(() => new AdamW([{ params: [c], weightDecay: 0 }]).loadState(state)).toThrow(
      "AdamW.loadState: optimizer state for 'w' is missing or has the wrong size",
    );
    const d = param([0, 0, 0], 'other');
    expect(() => new AdamW([{ params: [d], weightDecay: 0 }]).loadState(state)).toThrow(/'other'/);
  });

  it('refuses bad hyperparameters', () => {
    const p = param([1]);
    expect(() => new AdamW([{ params: [p], weightDecay: 0 }], { lr: 0 })).toThrow('AdamW: lr must be > 0, got 0');
    expect(() => new AdamW([{ params: [p], weightDecay: 0 }], { eps: -1 })).toThrow(/eps must be > 0/);
    expect(() => new AdamW([{ params: [p], weightDecay: 0 }], { beta1: 1 })).toThrow(
      'AdamW: beta1 must be in [0, 1), got 1',
    );
    expect(() => new AdamW([{ params: [p], weightDecay: 0 }], { beta2: -0.1 })).toThrow(TensorError);
  });
});

describe('DecoderLM.decayGroups', () => {
  const m = new DecoderLM({
    vocabSize: 10,
    contextLength: 8,
    dModel: 8,
    nLayers: 2,
    nHeads: 2,
    norm: { kind: 'layernorm' },
    bias: true,
    positional: 'learned',
    qkNorm: true,
  });

  it('matrices decay; every rank-1 parameter (gains, shifts, biases) does not', () => {
    const { decay, noDecay } = m.decayGroups();
    expect(decay.length + noDecay.length).toBe(m.parameters().length);
    expect(new Set([...decay, ...noDecay]).size).toBe(m.parameters().length);
    for (const p of decay) expect(p.rank).toBeGreaterThanOrEqual(2);
    for (const p of noDecay) expect(p.rank).toBe(1);
    const noDecayNames = noDecay.map((p) => p.name!);
    expect(noDecayNames).toContain('blocks.0.norm1.weight');
    expect(noDecayNames).toContain('blocks.0.norm1.bias');
    expect(noDecayNames).toContain('blocks.1.attn.qkv.bias');
    expect(noDecayNames).toContain('blocks.0.attn.kNorm.weight');
    expect(noDecayNames).toContain('finalNorm.bias');
    expect(decay.map((p) => p.name)).toEqual(expect.arrayContaining(['wte.weight', 'wpe', 'blocks.1.ffn.w2.weight']));
  });

  it('an AdamW over the groups decays only the matrices', () => {
    const { decay, noDecay } = m.decayGroups();
    const opt = new AdamW(
      [
        { params: decay, weightDecay: 0.5 },
        { params: noDecay, weightDecay: 0 },
      ],
      { lr: 0.1 },
    );
    const before = new Map(m.parameters().map((p) => [p, p.dataSync()]));
    for (const p of m.parameters()) {
      p.zeroGrad();
      p.grad = zeros(p.shape).keep();
    }
    opt.update();
    for (const p of noDecay) expect(Array.from(p.dataSync()), p.name).toEqual(Array.from(before.get(p)!));
    for (const p of decay)
      expectClose(
        p.dataSync(),
        before.get(p)!.map((v) => v * 0.95),
        1e-7,
      );
    opt.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });
});

describe('learningRate (warmup + cosine)', () => {
  const s: LrSchedule = { lr: 1e-3, warmup: 10, decaySteps: 110, minLr: 1e-4 };

  it('key steps', () => {
    expect(learningRate(0, s)).toBeCloseTo(1e-3 / 11, 12);
    expect(learningRate(4, s)).toBeCloseTo((1e-3 * 5) / 11, 12);
    expect(learningRate(9, s)).toBeCloseTo((1e-3 * 10) / 11, 12);
    expect(learningRate(10, s)).toBeCloseTo(1e-3, 12); // peak right after warmup
    expect(learningRate(60, s)).toBeCloseTo((1e-3 + 1e-4) / 2, 12); // half-way down the cosine
    expect(learningRate(35, s)).toBeCloseTo(1e-4 + 0.5 * (1 + Math.cos(Math.PI / 4)) * 9e-4, 12);
    expect(learningRate(110, s)).toBe(1e-4);
    expect(learningRate(10_000, s)).toBe(1e-4);
  });

  it('no warmup starts at the peak', () => {
    expect(learningRate(0, { ...s, warmup: 0 })).toBe(1e-3);
  });

  it('rises during warmup, falls after, and stays within [minLr, lr] (after step 0)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), (t) => {
        const a = learningRate(t, s);
        const b = learningRate(t + 1, s);
        if (t + 1 < s.warmup) expect(b).toBeGreaterThan(a);
        else if (t >= s.warmup && t < s.decaySteps) expect(b).toBeLessThan(a);
        else if (t >= s.decaySteps) expect(b).toBe(a);
        expect(a).toBeLessThanOrEqual(s.lr);
        if (t >= s.warmup) expect(a).toBeGreaterThanOrEqual(s.minLr);
      }),
      { numRuns: 100, seed: 5 },
    );
  });
});

describe('clipScale and gradNormSquared', () => {
  it('clipScale: 1 within the limit, maxNorm/norm above it, off for maxNorm <= 0', () => {
    expect(clipScale(0.5, 1)).toBe(1);
    expect(clipScale(1, 1)).toBe(1);
    expect(clipScale(10, 1)).toBeCloseTo(0.1, 6);
    expect(clipScale(4, 2)).toBeCloseTo(0.5, 6);
    expect(clipScale(1e6, 0)).toBe(1);
    fc.assert(
      fc.property(
        fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
        fc.double({ min: 1e-3, max: 100, noNaN: true }),
        (n, max) => {
          const sc = clipScale(n, max);
          expect(sc).toBeLessThanOrEqual(1);
          expect(n * sc).toBeLessThanOrEqual(max * (1 + 1e-9));
          if (n > max) expect(n * sc).toBeGreaterThan(max * 0.999);
        },
      ),
      { numRuns: 100, seed: 6 },
    );
  });

  it('gradNormSquared sums every gradient square (parameters without a gradient count 0)', () => {
    const a = param([1, 2], 'a');
    const b = param([3], 'b');
    const c = param([5], 'c');
    setGrad(a, [3, 4]);
    setGrad(b, [12]);
    expect(gradNormSquared([a, b, c]).itemSync()).toBeCloseTo(9 + 16 + 144, 4);
    expect(gradNormSquared([c]).itemSync()).toBe(0);
  });
});
