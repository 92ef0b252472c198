import './index.js';
import { assertGradcheck, backward } from '@tinyformer/autograd';
import {
  type Backend,
  CpuBackend,
  getBackend,
  Rng,
  randn,
  ShapeError,
  setBackend,
  split,
  type Tensor,
  tensor,
} from '@tinyformer/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { CausalSelfAttention } from './attention.js';
import { mergeHeads, mergeHeadsOp, splitHeads, splitHeadsOp } from './heads.js';
import { applyRope, ropeComposite } from './rope.js';

// the default CPU backend runs the splitHeads/mergeHeads/rope kernels; this one takes every composite path
const fused = new CpuBackend();
const composite = new CpuBackend({ kernels: false });

function on(b: Backend, shape: number[], seed: number, std = 1): Tensor {
  return tensor(randn(shape, { seed, std }).dataSync(), shape, { backend: b });
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** outputs and input gradients of fn(x) under upstream gradients `ups`, on one backend */
function run(b: Backend, fn: (x: Tensor) => Tensor[], shape: number[], seed: number) {
  const x = on(b, shape, seed);
  x.requiresGrad = true;
  const ys = fn(x);
  const loss = ys.map((y, i) => y.mul(on(b, [...y.shape], 100 + i)).sum()).reduce((a, c) => a.add(c));
  backward(loss);
  return { ys: ys.map((y) => y.dataSync()), dx: x.grad!.dataSync() };
}

afterEach(() => setBackend(new CpuBackend()));

describe('splitHeads / mergeHeads', () => {
  it('splitHeads(qkv, H, 3) is the reshape + permute + split of the composite path, exactly, forward and backward', () => {
    const [B, T, H, hd] = [2, 5, 3, 4];
    const want = (x: Tensor) =>
      split(x.reshape([B, T, 3, H, hd]).permute([2, 0, 3, 1, 4]), 3, 0).map((t) => t.reshape([B, H, T, hd]));
    const shape = [B, T, 3 * H * hd];
    for (const b of [fused, composite]) {
      const got = run(b, (x) => splitHeads(x, H, 3), shape, 1);
      const ref = run(b, want, shape, 1);
      for (const [i, y] of got.ys.entries()) expect(Array.from(y)).toEqual(Array.from(ref.ys[i]!));
      expect(Array.from(got.dx)).toEqual(Array.from(ref.dx));
    }
    expect(splitHeadsOp.kernelFor(fused) && mergeHeadsOp.kernelFor(fused)).toBeTruthy();
    expect(splitHeadsOp.kernelFor(composite)).toBeNull();
  });

  it('mergeHeads is (B, H, T, hd) -> (B, T, H*hd), exactly, on both paths; it inverts splitHeads(x, H, 1)', () => {
    const shape = [2, 4, 3, 8];
    for (const b of [fused, composite]) {
      const got = run(b, (y) => [mergeHeads(y)], shape, 2);
      const ref = run(b, (y) => [y.permute([0, 2, 1, 3]).reshape([2, 3, 32])], shape, 2);
      expect(Array.from(got.ys[0]!)).toEqual(Array.from(ref.ys[0]!));
      expect(Array.from(got.dx)).toEqual(Array.from(ref.dx));
      const x = on(b, [2, 3, 32], 3);
      expect(Array.from(mergeHeads(splitHeads(x, 4)[0]!).dataSync())).toEqual(Array.from(x.dataSync()));
    }
  });

  it('an unused part gets a zero gradient (fused and composite)', () => {
    for (const b of [fused, composite]) {
      const { dx } = run(b, (x) => splitHeads(x, 2, 3).slice(0, 2), [1, 2, 12], 4);
      // columns 8..11 of each row hold v, which the loss never saw
      for (let t = 0; t < 2; t++) expect(Array.from(dx.subarray(t * 12 + 8, t * 12 + 12))).toEqual([0, 0, 0, 0]);
      expect(maxDiff(dx.subarray(0, 8), new Float32Array(8))).toBeGreaterThan(0);
    }
  });

  it('gradcheck (float64): splitHeads with parts used unevenly, and mergeHeads', () => {
    const spec = (shape: number[], seed: number) => ({ values: randn(shape, { seed }).dataSync(), shape });
    assertGradcheck(
      (x) => {
        const [q, k, v] = splitHeads(x, 2, 3) as [Tensor, Tensor, Tensor];
        return q.mul(k).add(v.exp()).add(q);
      },
      [spec([2, 3, 12], 5)],
    );
    assertGradcheck((y) => mergeHeads(y).tanh(), [spec([1, 2, 3, 4], 6)]);
  });

  it('refuses shapes that do not split into heads', () => {
    expect(() => splitHeads(randn([2, 3, 10]), 4, 3)).toThrow(ShapeError);
    expect(() => splitHeads(randn([2, 3, 12]), 4, 3)).not.toThrow();
    expect(() => splitHeads(randn([6, 12]), 2, 3)).toThrow('splitHeads: input must be (B, T, C), got [6,12]');
    expect(() => mergeHeads(randn([2, 3, 4]))).toThrow('mergeHeads: input must be (B, H, T, hd), got [2,3,4]');
  });
});

describe('fused RoPE', () => {
  it('the fused kernel matches the composite path (forward and gradient), with startPos and scale', () => {
    const shape = [2, 3, 7, 8];
    for (const [start, base, scale] of [
      [0, 10000, 1],
      [5, 100, 1],
      [3, 10000, 1 / Math.sqrt(8)],
    ] as const) {
      const f = run(fused, (x) => [applyRope(x, start, base, scale)], shape, 7);
      const c = run(composite, (x) => [applyRope(x, start, base, scale)], shape, 7);
      const direct = run(fused, (x) => [ropeComposite(x, start, base, scale)], shape, 7);
      expect(maxDiff(f.ys[0]!, c.ys[0]!)).toBeLessThan(2e-6);
      expect(maxDiff(f.dx, c.dx)).toBeLessThan(2e-6);
      // the composite's own autograd (through split/mul/concat) agrees with the op's inverse-rotation backward
      expect(maxDiff(f.dx, direct.dx)).toBeLessThan(2e-6);
    }
  });

  it('scale multiplies the rotation; the inverse rotation undoes it', () => {
    const x = randn([1, 2, 5, 6], { seed: 8 });
    const a = applyRope(x, 2, 10000, 0.25).dataSync();
    const b = applyRope(x, 2).mul(0.25).dataSync();
    expect(maxDiff(a, b)).toBeLessThan(1e-6);
    const back = ropeComposite(applyRope(x, 2), 2, 10000, 1, true).dataSync();
    expect(maxDiff(back, x.dataSync())).toBeLessThan(1e-6);
  });

  it('gradcheck (float64) with a scale and an offset', () => {
    const spec = (shape: number[], seed: number) => ({ values: randn(shape, { seed }).dataSync(), shape });
    assertGradcheck((x: Tensor) => applyRope(x, 3, 100, 0.5), [spec([2, 1, 3, 4], 9)]);
    assertGradcheck((x: Tensor) => ropeComposite(x, 3, 100, 0.5), [spec([2, 1, 3, 4], 9)]);
  });
});

describe('CausalSelfAttention: fused kernels == composite path', () => {
  for (const positional of ['rope', 'learned'] as const) {
    it(`${positional}: outputs and every gradient agree`, () => {
      const results = [fused, composite].map((b) => {
        setBackend(b);
        const attn = new CausalSelfAttention({ dModel: 16, nHeads: 4, positional }, { rng: new Rng(3), outStd: 0.5 });
        for (const p of attn.parameters()) p.setValues(p.dataSync().map((v) => v * 10));
        const x = on(b, [2, 6, 16], 10);
        x.requiresGrad = true;
        const y = attn.forward(x);
        backward(y.mul(on(b, [2, 6, 16], 11)).sum());
        return {
          y: y.dataSync(),
          grads: [x.grad!.dataSync(), ...attn.parameters().map((p) => p.grad!.dataSync())],
        };
      });
      expect(getBackend()).toBe(composite);
      const [f, c] = results as [(typeof results)[0], (typeof results)[0]];
      expect(maxDiff(f.y, c.y)).toBeLessThan(1e-5);
      f.grads.forEach((g, i) => {
        const scale = Math.max(...Array.from(c.grads[i]!, Math.abs));
        expect(maxDiff(g, c.grads[i]!)).toBeLessThan(1e-5 * (1 + scale));
      });
    });
  }
});
