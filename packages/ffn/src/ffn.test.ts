import { assertGradcheck, noGrad } from '@tinyformer/autograd';
import { Rng, randn, type Tensor, TensorError, tensor } from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { defaultHiddenDim, FFN_KINDS, type FfnConfig } from './config.js';
import { createFfn } from './create-ffn.js';
import { MLP } from './mlp.js';
import { SwiGLU } from './swiglu.js';

// ---- a plain-JS reference --------------------------------------------------------------------------------------

/** GPT-2's tanh approximation of GELU (what the GELU MLP uses). */
const geluRef = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const siluRef = (v: number) => v / (1 + Math.exp(-v));

/** y = x W^T + b for one row x, W as nested [out][in]. */
function linearRef(x: number[], w: number[][], b?: number[]): number[] {
  return w.map((row, o) => row.reduce((acc, wi, i) => acc + wi * x[i]!, b ? b[o]! : 0));
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const flat = (m: number[][]) => Float32Array.from(m.flat());

// known small weights: dModel 2, hidden 3
const W1 = [
  [0.5, -1],
  [1.5, 0.25],
  [-0.75, 2],
];
const W3 = [
  [1, 0.5],
  [-0.5, -1],
  [0.25, 0.75],
];
const W2 = [
  [1, -2, 0.5],
  [0.3, 0.7, -1.2],
];
const B1 = [0.1, -0.2, 0.3];
const B2 = [-0.5, 0.25];
const XS = [
  [1, -2],
  [0.5, 0.25],
  [-3, 1.5],
];

describe('MLP (GELU) forward', () => {
  it('matches a hand-computed reference with known weights (no bias)', () => {
    const mlp = new MLP(2, 3);
    mlp.fc.weight.setValues(flat(W1));
    mlp.proj.weight.setValues(flat(W2));
    const y = mlp.forward(tensor(XS)).dataSync();
    const want = XS.flatMap((x) => linearRef(linearRef(x, W1).map(geluRef), W2));
    expect(maxDiff(y, want)).toBeLessThan(1e-5);
    // spot-check one value by hand: x = [1, -2] -> h = [2.5, 1, -4.75] -> gelu -> W2
    const h = [geluRef(2.5), geluRef(1), geluRef(-4.75)];
    expect(y[0]).toBeCloseTo(h[0]! - 2 * h[1]! + 0.5 * h[2]!, 5);
  });

  it('with biases, and on a (B, T, d) input', () => {
    const mlp = new MLP(2, 3, { bias: true });
    mlp.fc.weight.setValues(flat(W1));
    mlp.fc.bias!.setValues(Float32Array.from(B1));
    mlp.proj.weight.setValues(flat(W2));
    mlp.proj.bias!.setValues(Float32Array.from(B2));
    const y = mlp.forward(tensor(XS.flat(), [1, 3, 2]));
    expect(y.shape).toEqual([1, 3, 2]);
    const want = XS.flatMap((x) => linearRef(linearRef(x, W1, B1).map(geluRef), W2, B2));
    expect(maxDiff(y.dataSync(), want)).toBeLessThan(1e-5);
  });
});

describe('SwiGLU forward', () => {
  it('matches a hand-computed reference: (silu(x W1^T) * x W3^T) W2^T', () => {
    const ffn = new SwiGLU(2, 3);
    ffn.w1.weight.setValues(flat(W1));
    ffn.w3.weight.setValues(flat(W3));
    ffn.w2.weight.setValues(flat(W2));
    const y = ffn.forward(tensor(XS)).dataSync();
    const want = XS.flatMap((x) => {
      const a = linearRef(x, W1).map(siluRef);
      const b = linearRef(x, W3);
      return linearRef(
        a.map((v, i) => v * b[i]!),
        W2,
      );
    });
    expect(maxDiff(y, want)).toBeLessThan(1e-5);
    // swapping the gate (w1) and the value (w3) changes the result: the silu is on x W1^T only
    const swapped = new SwiGLU(2, 3);
    swapped.w1.weight.setValues(flat(W3));
    swapped.w3.weight.setValues(flat(W1));
    swapped.w2.weight.setValues(flat(W2));
    expect(maxDiff(swapped.forward(tensor(XS)).dataSync(), want)).toBeGreaterThan(1e-2);
  });

  it('with biases', () => {
    const ffn = new SwiGLU(2, 3, { bias: true });
    ffn.w1.weight.setValues(flat(W1));
    ffn.w1.bias!.setValues(Float32Array.from(B1));
    ffn.w3.weight.setValues(flat(W3));
    ffn.w3.bias!.setValues(Float32Array.from([0, 0.5, -0.5]));
    ffn.w2.weight.setValues(flat(W2));
    ffn.w2.bias!.setValues(Float32Array.from(B2));
    const want = XS.flatMap((x) => {
      const a = linearRef(x, W1, B1).map(siluRef);
      const b = linearRef(x, W3, [0, 0.5, -0.5]);
      return linearRef(
        a.map((v, i) => v * b[i]!),
        W2,
        B2,
      );
    });
    expect(maxDiff(ffn.forward(tensor(XS)).dataSync(), want)).toBeLessThan(1e-5);
  });
});

describe('gradcheck (float64)', () => {
  const spec = (shape: number[], seed: number, std = 1) => ({ values: randn(shape, { seed, std }).dataSync(), shape });
  const set = (m: { weight: Tensor }, w: Tensor) => {
    (m as { weight: Tensor }).weight = w;
  };

  it('MLP w.r.t. the input and both weights', () => {
    assertGradcheck((x) => new MLP(3, 5, { rng: new Rng(1) }).forward(x), [spec([2, 3], 1)]);
    assertGradcheck(
      (x, w1, w2) => {
        const m = new MLP(3, 5, { bias: true, rng: new Rng(1) });
        set(m.fc, w1);
        set(m.proj, w2);
        return m.forward(x);
      },
      [spec([1, 2, 3], 2), spec([5, 3], 3), spec([3, 5], 4)],
    );
  });

  it('SwiGLU w.r.t. the input and all three weights', () => {
    assertGradcheck((x) => new SwiGLU(3, 4, { rng: new Rng(2) }).forward(x), [spec([2, 3], 5)]);
    assertGradcheck(
      (x, w1, w3, w2) => {
        const m = new SwiGLU(3, 4, { rng: new Rng(2) });
        set(m.w1, w1);
        set(m.w3, w3);
        set(m.w2, w2);
        return m.forward(x);
      },
      [spec([2, 3], 6), spec([4, 3], 7), spec([4, 3], 8), spec([3, 4], 9)],
    );
  });
});

describe('createFfn', () => {
  it('default hidden dims: 4d for gelu, 8/3 d rounded up to a multiple of 8 for swiglu', () => {
    expect(defaultHiddenDim('gelu', 64)).toBe(256);
    expect(defaultHiddenDim('gelu', 10)).toBe(40);
    expect(defaultHiddenDim('swiglu', 48)).toBe(128); // exactly 8/3 * 48
    expect(defaultHiddenDim('swiglu', 64)).toBe(176); // 170.67 -> 176
    expect(defaultHiddenDim('swiglu', 10)).toBe(32); // 26.67 -> 32
    expect(defaultHiddenDim('swiglu', 1)).toBe(8);
    expect(defaultHiddenDim('swiglu', 768)).toBe(2048);
    for (let d = 1; d <= 100; d++) {
      const h = defaultHiddenDim('swiglu', d);
      expect(h % 8).toBe(0);
      expect(h).toBeGreaterThanOrEqual((8 * d) / 3);
      expect(h - 8).toBeLessThan((8 * d) / 3);
    }
  });

  it('builds the right layer with the default width and shapes', () => {
    const g = createFfn({ kind: 'gelu' }, 16);
    expect(g).toBeInstanceOf(MLP);
    expect((g as MLP).hiddenDim).toBe(64);
    expect(g.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`)).toEqual([
      'fc.weight:64x16',
      'proj.weight:16x64',
    ]);
    const s = createFfn({ kind: 'swiglu' }, 48);
    expect(s).toBeInstanceOf(SwiGLU);
    expect((s as SwiGLU).hiddenDim).toBe(128);
    expect(s.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`)).toEqual([
      'w1.weight:128x48',
      'w3.weight:128x48',
      'w2.weight:48x128',
    ]);
    // the 8/3 rule keeps SwiGLU's parameter count equal to the GELU MLP's when 8d/3 is a multiple of 8
    expect(s.parameterCount()).toBe(createFfn({ kind: 'gelu' }, 48).parameterCount());
  });

  it('honours hiddenDim, bias (config over init) and the output std', () => {
    const m = createFfn({ kind: 'gelu', hiddenDim: 7, bias: true }, 4);
    expect((m as MLP).hiddenDim).toBe(7);
    expect(m.parameterCount()).toBe(7 * 4 + 7 + 4 * 7 + 4);
    expect(createFfn({ kind: 'swiglu', hiddenDim: 5, bias: false }, 4, { bias: true }).parameterCount()).toBe(
      3 * 5 * 4,
    );
    expect(createFfn({ kind: 'swiglu', hiddenDim: 5 }, 4, { bias: true }).parameterCount()).toBe(3 * 5 * 4 + 5 + 5 + 4);
    const std = (t: Tensor) => {
      const v = t.dataSync();
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    };
    const big = createFfn({ kind: 'swiglu', hiddenDim: 256 }, 256, { rng: new Rng(3), outStd: 0.005 }) as SwiGLU;
    expect(std(big.w2.weight)).toBeCloseTo(0.005, 3);
    expect(std(big.w1.weight)).toBeCloseTo(0.02, 3);
    const mlp = createFfn({ kind: 'gelu', hiddenDim: 256 }, 256, { rng: new Rng(4), outStd: 0.005 }) as MLP;
    expect(std(mlp.proj.weight)).toBeCloseTo(0.005, 3);
    expect(std(mlp.fc.weight)).toBeCloseTo(0.02, 3);
  });

  it('the same rng seed gives the same weights; layers are usable end to end', () => {
    const a = createFfn({ kind: 'swiglu' }, 8, { rng: new Rng(9) });
    const b = createFfn({ kind: 'swiglu' }, 8, { rng: new Rng(9) });
    const x = randn([2, 3, 8], { seed: 10 });
    const ya = noGrad(() => a.forward(x));
    expect(ya.shape).toEqual([2, 3, 8]);
    expect(Array.from(ya.dataSync())).toEqual(Array.from(noGrad(() => b.forward(x)).dataSync()));
  });

  it('refuses a bad hiddenDim and an unknown kind, naming the problem', () => {
    for (const h of [0, -4, 2.5, Number.NaN]) {
      expect(() => createFfn({ kind: 'gelu', hiddenDim: h }, 4)).toThrow(TensorError);
      expect(() => createFfn({ kind: 'gelu', hiddenDim: h }, 4)).toThrow(
        `createFfn: hiddenDim must be a positive integer, got ${h}`,
      );
    }
    const bad = { kind: 'relu' } as unknown as FfnConfig;
    expect(() => createFfn(bad, 4)).toThrow('createFfn: unknown ffn kind "relu"; allowed: swiglu, gelu');
    expect([...FFN_KINDS].sort()).toEqual(['gelu', 'swiglu']);
  });

  it('an input with the wrong width is refused', () => {
    const m = createFfn({ kind: 'swiglu' }, 8);
    expect(() => m.forward(randn([2, 6]))).toThrow('Linear: input [2,6] must end in 8 features');
  });
});
