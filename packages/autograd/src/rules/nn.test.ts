import * as t from '@tinyformer/tensor';
import { expectClose, randomIndices, randomNormals } from '@tinyformer/tensor/testing';
import { describe, expect, it } from 'vitest';
import { assertGradcheck, backward, type GradcheckInput, grad } from '../index.js';

function inp(shape: number[], seed: number, scale = 1): GradcheckInput {
  const rng = new t.Rng(seed);
  return { values: Float64Array.from({ length: t.sizeOf(shape) }, () => scale * rng.normal()), shape };
}

function ints(shape: number[], high: number, seed: number): GradcheckInput {
  return { values: randomIndices(new t.Rng(seed), t.sizeOf(shape), high), shape, dtype: 'int32' };
}

describe('softmax / logSoftmax backward (fused rule)', () => {
  it('softmax over the last axis, rank 1 to 3', () => {
    assertGradcheck((x) => t.softmax(x), [inp([5], 1)]);
    assertGradcheck((x) => t.softmax(x), [inp([3, 4], 2, 2)]);
    assertGradcheck((x) => t.softmax(x), [inp([2, 3, 4], 3)]);
  });

  it('causal softmax with Tq = Tk and Tq < Tk (masked entries get no gradient)', () => {
    assertGradcheck((x) => t.softmax(x, { causal: true }), [inp([2, 3, 3], 4)]);
    assertGradcheck((x) => t.softmax(x, { causal: true }), [inp([2, 2, 5], 5)]);
  });

  it('logSoftmax, plain and causal', () => {
    assertGradcheck((x) => t.logSoftmax(x), [inp([3, 4], 6, 2)]);
    // masked outputs are -Infinity: clamp them to a constant so the weighted loss stays finite
    assertGradcheck((x) => t.maximum(t.logSoftmax(x, { causal: true }), -50), [inp([2, 3, 4], 7)]);
    assertGradcheck((x) => t.exp(t.logSoftmax(x, { causal: true })), [inp([3, 5], 8)]);
  });
});

describe('composite softmax / logSoftmax (graph of primitives)', () => {
  it('softmaxComposite and logSoftmaxComposite, plain and causal', () => {
    assertGradcheck((x) => t.softmaxComposite(x), [inp([3, 4], 9, 2)]);
    assertGradcheck((x) => t.softmaxComposite(x, { causal: true }), [inp([2, 3, 4], 10)]);
    assertGradcheck((x) => t.logSoftmaxComposite(x), [inp([2, 5], 11)]);
    assertGradcheck((x) => t.maximum(t.logSoftmaxComposite(x, { causal: true }), -50), [inp([3, 3], 12)]);
  });
});

describe('gather / scatterAdd / crossEntropy backward', () => {
  it('gather: the table gradient is a scatter-add over repeated indices', () => {
    assertGradcheck((table, idx) => t.gather(table, idx), [inp([5, 3], 13), ints([2, 4], 5, 14)]);
    assertGradcheck(
      (table, idx) => t.gather(table, idx).square(),
      [inp([3, 2], 15), { values: [1, 1, 1, 0], shape: [4], dtype: 'int32' }],
    );
  });

  it('scatterAdd: the source gradient is a gather', () => {
    assertGradcheck((src, idx) => t.scatterAdd(src, idx, 4), [inp([2, 3, 2], 16), ints([2, 3], 4, 17)]);
  });

  it('crossEntropy (mean) and crossEntropyRows, rank 2 and 3 logits', () => {
    assertGradcheck((x, tg) => t.crossEntropy(x, tg), [inp([4, 6], 18, 2), ints([4], 6, 19)]);
    assertGradcheck((x, tg) => t.crossEntropyRows(x, tg), [inp([2, 3, 5], 20), ints([2, 3], 5, 21)]);
    assertGradcheck((x, tg) => t.crossEntropy(x, tg), [inp([1, 1], 22), { values: [0], shape: [1], dtype: 'int32' }]);
  });

  it('oneHot and comparisons carry no gradient (not an error)', () => {
    const x = t.tensor([1, 2, 3], undefined, { backend: new t.CpuBackend() });
    x.requiresGrad = true;
    const g = t.gt(x, 1.5);
    expect(g.requiresGrad).toBe(false);
    backward(t.mul(x, g).sum());
    expect(Array.from(x.grad!.dataSync())).toEqual([0, 1, 1]);
  });
});

describe('composites built from primitives', () => {
  it('a LayerNorm and an RMSNorm written with mean / sub / rsqrt', () => {
    const layerNorm = (x: t.Tensor, g: t.Tensor, b: t.Tensor) => {
      const mu = t.mean(x, -1, { keepDims: true });
      const d = t.sub(x, mu);
      const rstd = t.rsqrt(t.add(t.mean(t.square(d), -1, { keepDims: true }), 1e-5));
      return t.add(t.mul(t.mul(d, rstd), g), b);
    };
    const rmsNorm = (x: t.Tensor, g: t.Tensor) =>
      t.mul(t.mul(x, t.rsqrt(t.add(t.mean(t.square(x), -1, { keepDims: true }), 1e-5))), g);
    assertGradcheck(layerNorm, [inp([2, 3, 5], 23), inp([5], 24), inp([5], 25)]);
    assertGradcheck(rmsNorm, [inp([3, 4], 26), inp([4], 27)]);
  });

  it('a GELU MLP with biases and a cross-entropy loss', () => {
    assertGradcheck(
      (x, w1, b1, w2, tg) => t.crossEntropy(t.matmul(t.gelu(t.add(t.matmul(x, w1), b1)), w2, { transB: true }), tg),
      [inp([2, 3, 4], 28), inp([4, 6], 29), inp([6], 30), inp([5, 6], 31), ints([2, 3], 5, 32)],
    );
  });

  it('causal single-head attention: softmax(Q K^T / sqrt(d), causal) V', () => {
    assertGradcheck(
      (q, k, v) => t.matmul(t.softmax(t.matmul(q, k, { transB: true }).mul(0.5), { causal: true }), v),
      [inp([2, 3, 4], 33), inp([2, 3, 4], 34), inp([2, 3, 4], 35)],
    );
  });
});

describe('op kernels and the composite backend give the same gradients', () => {
  const fused = new t.CpuBackend();
  const composite = new t.CpuBackend({ kernels: false });
  // a backend with a softmax kernel but no softmaxBackward kernel: the rule runs the composite backward
  const partial = new t.CpuBackend({ disableKernels: ['softmaxBackward'] });

  const gradsOn = (
    backend: t.Backend,
    f: (x: t.Tensor, tg: t.Tensor) => t.Tensor,
    xv: Float32Array,
    shape: number[],
    tv: Int32Array,
  ) =>
    t.tidy(() => {
      const x = t.tensor(xv, shape, { backend });
      const tg = t.tensor(tv, shape.slice(0, -1), { backend });
      return grad(() => f(x, tg), [x])[0]!.dataSync();
    });

  const CASES: [string, (x: t.Tensor, tg: t.Tensor) => t.Tensor][] = [
    ['softmax', (x) => t.softmax(x).square()],
    ['causal softmax', (x) => t.softmax(x, { causal: true }).square()],
    ['logSoftmax', (x) => t.logSoftmax(x).mul(t.softmax(x))],
    ['causal logSoftmax', (x) => t.maximum(t.logSoftmax(x, { causal: true }), -30).square()],
    ['crossEntropy', (x, tg) => t.crossEntropy(x, tg)],
    ['crossEntropyRows', (x, tg) => t.crossEntropyRows(x, tg).square()],
  ];
  for (const [name, f] of CASES) {
    it(name, () => {
      const rng = new t.Rng(name.length);
      const shape = [2, 4, 6];
      const xv = randomNormals(rng, t.sizeOf(shape), 2);
      const tv = randomIndices(rng, 8, 6);
      const want = gradsOn(fused, f, xv, shape, tv);
      expectClose(gradsOn(composite, f, xv, shape, tv), want, 1e-5, `${name}: composite`);
      expectClose(gradsOn(partial, f, xv, shape, tv), want, 1e-5, `${name}: softmax-only fused`);
    });
  }
});
