import * as t from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { assertGradcheck, backward, type GradcheckInput } from '../index.js';

/** Uniform float64 values in [low, high) for a gradcheck input; |v| >= minAbs keeps them off kinks and poles. */
function inp(shape: number[], seed: number, low = -1, high = 1, minAbs = 0): GradcheckInput {
  const rng = new t.Rng(seed);
  const values = Float64Array.from({ length: t.sizeOf(shape) }, () => {
    const v = low + (high - low) * rng.uniform();
    return Math.abs(v) < minAbs ? v + Math.sign(v || 1) * minAbs : v;
  });
  return { values, shape };
}

const UNARY: [string, (x: t.Tensor) => t.Tensor, number, number, number][] = [
  // name, fn, low, high, minAbs (away from kinks at 0)
  ['neg', t.neg, -2, 2, 0],
  ['exp', t.exp, -2, 2, 0],
  ['log', t.log, 0.2, 3, 0],
  ['sqrt', t.sqrt, 0.2, 3, 0],
  ['rsqrt', t.rsqrt, 0.2, 3, 0],
  ['tanh', t.tanh, -2, 2, 0],
  ['gelu', t.gelu, -3, 3, 0],
  ['silu', t.silu, -3, 3, 0],
  ['relu', t.relu, -2, 2, 0.05],
  ['sigmoid', t.sigmoid, -3, 3, 0],
  ['abs', t.abs, -2, 2, 0.05],
  ['square', t.square, -2, 2, 0],
  ['reciprocal', t.reciprocal, 0.3, 3, 0],
];

describe('unary backward rules (gradcheck, float64)', () => {
  UNARY.forEach(([name, fn, low, high, minAbs], k) => {
    it(`${name}`, () => {
      assertGradcheck(fn, [inp([3, 4], k, low, high, minAbs)]);
      // negative inputs for the functions defined there
      if (low < 0) assertGradcheck(fn, [inp([5], 50 + k, low, -minAbs - 0.01)]);
    });
  });

  it('relu and abs pass 0 gradient at exactly 0 (the subgradient PyTorch picks)', () => {
    const x = t.tensor([0, 0], undefined, { backend: new t.CpuBackend() });
    x.requiresGrad = true;
    backward(t.add(t.relu(x).sum(), t.abs(x).sum()));
    expect(Array.from(x.grad!.dataSync())).toEqual([0, 0]);
  });
});

const BROADCAST_PAIRS: [number[], number[]][] = [
  [
    [3, 4],
    [3, 4],
  ],
  [[2, 3], [3]],
  [
    [2, 1],
    [1, 3],
  ],
  [[], [2, 2]],
  [[2, 3], []],
  [
    [3, 1, 2],
    [4, 1],
  ],
  [
    [1, 3],
    [2, 1, 1],
  ],
];

const BINARY: [string, (a: t.Tensor, b: t.Tensor) => t.Tensor, [number, number, number], [number, number, number]][] = [
  // name, fn, a range, b range (low, high, minAbs)
  ['add', t.add, [-2, 2, 0], [-2, 2, 0]],
  ['sub', t.sub, [-2, 2, 0], [-2, 2, 0]],
  ['mul', t.mul, [-2, 2, 0], [-2, 2, 0]],
  ['div', t.div, [-2, 2, 0], [-2, 2, 0.3]],
  ['pow', t.pow, [0.3, 2, 0], [-2, 2, 0]],
];

describe('binary backward rules with broadcasting (gradients summed back to each input shape)', () => {
  BINARY.forEach(([name, fn, ra, rb], k) => {
    it(`${name} on ${BROADCAST_PAIRS.length} broadcast shape pairs`, () => {
      BROADCAST_PAIRS.forEach(([a, b], j) => {
        assertGradcheck(fn, [inp(a, 100 * k + j, ...ra), inp(b, 100 * k + j + 50, ...rb)]);
      });
    });
  });

  for (const [name, fn] of [
    ['maximum', t.maximum],
    ['minimum', t.minimum],
  ] as const) {
    it(`${name} on broadcast shape pairs, away from ties`, () => {
      BROADCAST_PAIRS.forEach(([a, b], j) => {
        // a on a grid of odd tenths, b of even ones: no pair is closer than 0.1
        const ai = inp(a, j, -2, 2);
        const bi = inp(b, j + 50, -2, 2);
        const grid = (v: number, odd: boolean) => (Math.round(v * 5) * 2 + (odd ? 1 : 0)) / 10;
        assertGradcheck(fn, [
          { values: Array.from(ai.values, (v) => grid(v, true)), shape: a },
          { values: Array.from(bi.values, (v) => grid(v, false)), shape: b },
        ]);
      });
    });
  }

  it('maximum/minimum split the gradient evenly on ties', () => {
    const be = new t.CpuBackend();
    const a = t.tensor([1, 2, 3], undefined, { backend: be });
    const b = t.tensor([1, 5, 0], undefined, { backend: be });
    a.requiresGrad = true;
    b.requiresGrad = true;
    backward(t.add(t.maximum(a, b).sum(), t.minimum(a, b).mul(10).sum()));
    expect(Array.from(a.grad!.dataSync())).toEqual([5.5, 10, 1]);
    expect(Array.from(b.grad!.dataSync())).toEqual([5.5, 1, 10]);
  });

  it('pow with a constant exponent differentiates negative bases (integer powers)', () => {
    assertGradcheck((x) => t.pow(x, 3), [inp([2, 3], 9, -2, 2)]);
    assertGradcheck((x) => t.pow(x, -2), [inp([4], 10, -2, 2, 0.3)]);
    assertGradcheck((x) => t.pow(x, 0.5), [inp([4], 11, 0.2, 2)]);
  });

  it('number operands on either side', () => {
    assertGradcheck((x) => t.sub(1, t.div(2, x)).mul(3).add(0.5), [inp([2, 2], 12, 0.5, 2)]);
    assertGradcheck((x) => t.maximum(x, 0.25), [inp([6], 13, -1, 0.2)]);
  });

  it('a mixed expression: x * sigmoid(x) + tanh(x)^2 / (1 + exp(-x))', () => {
    assertGradcheck(
      (x, y) => t.add(t.mul(x, t.sigmoid(y)), t.div(t.square(t.tanh(x)), t.add(1, t.exp(t.neg(y))))),
      [inp([3, 2], 14), inp([2], 15)],
    );
  });
});
