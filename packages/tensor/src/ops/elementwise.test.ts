import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BinaryOp, UnaryOp } from '../backend.js';
import * as t from '../index.js';
import {
  awayFromZero,
  binaryFnRef,
  broadcastPairArb,
  broadcastRef,
  expectClose,
  randomFloats,
  scaledBound,
  seedArb,
  shapeArb,
  unaryRef,
} from '../testing/index.js';

const UNARY: [string, (x: t.Tensor) => t.Tensor, UnaryOp][] = [
  ['neg', t.neg, 'neg'],
  ['exp', t.exp, 'exp'],
  ['log', t.log, 'log'],
  ['sqrt', t.sqrt, 'sqrt'],
  ['rsqrt', t.rsqrt, 'rsqrt'],
  ['tanh', t.tanh, 'tanh'],
  ['gelu', t.gelu, 'gelu'],
  ['silu', t.silu, 'silu'],
  ['relu', t.relu, 'relu'],
  ['sigmoid', t.sigmoid, 'sigmoid'],
  ['abs', t.abs, 'abs'],
  ['square', t.square, 'square'],
  ['reciprocal', t.reciprocal, 'reciprocal'],
];
const POSITIVE = new Set(['log', 'sqrt', 'rsqrt', 'reciprocal']);

describe('unary ops', () => {
  for (const [name, fn, op] of UNARY) {
    it(`${name} matches the reference on random shapes`, () => {
      fc.assert(
        fc.property(shapeArb({ maxRank: 3, maxDim: 5 }), seedArb, (shape, seed) => {
          const rng = new t.Rng(seed);
          const n = t.sizeOf(shape);
          const v = POSITIVE.has(name) ? randomFloats(rng, n, 0.01, 10) : randomFloats(rng, n, -8, 8);
          const x = t.tensor(v, shape);
          const y = fn(x);
          expect(y.shape).toEqual(shape);
          expect(y.dtype).toBe('float32');
          const ref = Float64Array.from(v, (u) => unaryRef(op, u));
          // computed in float64 and rounded once: a few ulps of the result, plus slack where 1 + tanh cancels
          expectClose(
            y.dataSync(),
            ref,
            scaledBound(
              ref.map((r, i) => Math.abs(r) + Math.abs(v[i]!) * 1e-3),
              4,
            ),
            name,
          );
        }),
        { numRuns: 25 },
      );
    });
  }

  it('chainable methods equal the functions', () => {
    const x = t.tensor([0.5, 1.5, 2.5]);
    for (const m of [
      'neg',
      'exp',
      'log',
      'sqrt',
      'rsqrt',
      'tanh',
      'gelu',
      'silu',
      'relu',
      'sigmoid',
      'square',
    ] as const) {
      const fn = UNARY.find(([n]) => n === m)![1];
      expect(x[m]().dataSync()).toEqual(fn(x).dataSync());
    }
  });

  it('known values: relu/abs at 0, sigmoid(0), gelu and silu at 0 and large |x|', () => {
    const x = t.tensor([0, -0, -3, 3, 50, -50]);
    expect(Array.from(t.relu(x).dataSync())).toEqual([0, 0, 0, 3, 50, 0]);
    expect(Array.from(t.abs(x).dataSync())).toEqual([0, 0, 3, 3, 50, 50]);
    expect(t.sigmoid(t.scalar(0)).itemSync()).toBe(0.5);
    expect(t.gelu(t.scalar(0)).itemSync()).toBe(0);
    expect(t.gelu(t.scalar(50)).itemSync()).toBe(50);
    expect(Math.abs(t.gelu(t.scalar(-50)).itemSync())).toBe(0);
    expect(t.silu(t.scalar(-50)).itemSync()).toBeCloseTo(0, 12);
    expect(t.sigmoid(t.scalar(-200)).itemSync()).toBe(0);
  });

  it('NaN propagates (not thrown), and overflow gives Infinity', () => {
    const x = t.tensor([Number.NaN, 1]);
    for (const [name, fn] of UNARY) {
      const y = fn(x).dataSync();
      expect(Number.isNaN(y[0]), `${name}(NaN)`).toBe(true);
      expect(Number.isNaN(y[1]), `${name}(1)`).toBe(false);
    }
    expect(t.exp(t.scalar(100)).itemSync()).toBe(Number.POSITIVE_INFINITY);
    expect(t.log(t.scalar(0)).itemSync()).toBe(Number.NEGATIVE_INFINITY);
    expect(Number.isNaN(t.log(t.scalar(-1)).itemSync())).toBe(true);
    expect(t.reciprocal(t.scalar(0)).itemSync()).toBe(Number.POSITIVE_INFINITY);
  });

  it('works on empty tensors and scalars', () => {
    expect(t.exp(t.zeros([0, 3])).shape).toEqual([0, 3]);
    expect(t.exp(t.scalar(0)).itemSync()).toBe(1);
  });
});

const BINARY: [BinaryOp, (a: t.TensorLike, b: t.TensorLike) => t.Tensor][] = [
  ['add', t.add],
  ['sub', t.sub],
  ['mul', t.mul],
  ['div', t.div],
  ['pow', t.pow],
  ['maximum', t.maximum],
  ['minimum', t.minimum],
  ['eq', t.eq],
  ['gt', t.gt],
];

describe('binary ops with broadcasting', () => {
  for (const [op, fn] of BINARY) {
    it(`${op} equals the naive broadcast reference, rounded once to float32`, () => {
      fc.assert(
        fc.property(broadcastPairArb(), seedArb, ({ a, b, out }, seed) => {
          const rng = new t.Rng(seed);
          let av = randomFloats(rng, t.sizeOf(a), -3, 3);
          let bv = randomFloats(rng, t.sizeOf(b), -3, 3);
          if (op === 'pow') av = randomFloats(rng, av.length, 0.1, 3);
          if (op === 'div') bv = awayFromZero(bv, 0.1);
          if (op === 'eq' || op === 'gt') {
            // ties must occur
            av = av.map(Math.round);
            bv = bv.map(Math.round);
          }
          const y = fn(t.tensor(av, a), t.tensor(bv, b));
          expect(y.shape).toEqual(out);
          // the CPU computes each element in float64 and stores float32: exactly the rounded reference
          const ref = Float32Array.from(broadcastRef(binaryFnRef(op), av, a, bv, b).values);
          expectClose(y.dataSync(), ref, 0, `${op} ${t.formatShape(a)} ${t.formatShape(b)}`);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('commutative ops do not depend on operand order under broadcasting', () => {
    fc.assert(
      fc.property(broadcastPairArb(), seedArb, ({ a, b }, seed) => {
        const rng = new t.Rng(seed);
        const x = t.tensor(randomFloats(rng, t.sizeOf(a)), a);
        const y = t.tensor(randomFloats(rng, t.sizeOf(b)), b);
        for (const fn of [t.add, t.mul, t.maximum, t.minimum, t.eq])
          expect(fn(x, y).dataSync()).toEqual(fn(y, x).dataSync());
      }),
      { numRuns: 50 },
    );
  });

  it('numbers act as scalars on either side, and methods chain', () => {
    const x = t.tensor([1, 2, 4]);
    expect(Array.from(x.add(1).dataSync())).toEqual([2, 3, 5]);
    expect(Array.from(t.sub(10, x).dataSync())).toEqual([9, 8, 6]);
    expect(Array.from(t.div(8, x).dataSync())).toEqual([8, 4, 2]);
    expect(Array.from(x.pow(2).dataSync())).toEqual([1, 4, 16]);
    expect(Array.from(t.maximum(x, 2).dataSync())).toEqual([2, 2, 4]);
    expect(Array.from(t.gt(x, 1.5).dataSync())).toEqual([0, 1, 1]);
    expect(t.add(2, 3).itemSync()).toBe(5);
    const w = t.tensor([
      [1, 0],
      [0, 2],
      [1, 1],
    ]);
    expect(
      Array.from(
        x
          .reshape([1, 3])
          .matmul(w)
          .add(t.tensor([10, 20]))
          .dataSync(),
      ),
    ).toEqual([15, 28]);
  });

  it('size-0 dims broadcast like any other', () => {
    expect(t.add(t.zeros([0, 3]), t.ones([3])).shape).toEqual([0, 3]);
    expect(t.mul(t.zeros([2, 0]), t.ones([2, 1])).shape).toEqual([2, 0]);
    expect(t.add(t.zeros([0]), 1).shape).toEqual([0]);
  });

  it('shape errors name the op and both shapes, before any kernel runs', () => {
    const b = new t.CpuBackend();
    const x = t.ones([2, 3], { backend: b });
    const y = t.ones([4, 3], { backend: b });
    const before = b.memory().buffers;
    expect(() => t.add(x, y)).toThrow(
      'add: [2,3] and [4,3] do not broadcast: dim 0 is 2 vs 4 (each pair must be equal or 1)',
    );
    expect(() => t.mul(x, t.ones([3, 2], { backend: b }))).toThrow(/^mul: \[2,3\] and \[3,2\] do not broadcast/);
    expect(() => x.sub(t.ones([2], { backend: b }))).toThrow(t.ShapeError);
    // two operands were created above, nothing else
    expect(b.memory().buffers).toBe(before + 2);
  });

  it('NaN propagates through arithmetic and maximum/minimum; comparisons with NaN are 0', () => {
    const nan = t.tensor([Number.NaN, 1]);
    const one = t.tensor([1, Number.NaN]);
    for (const fn of [t.add, t.sub, t.mul, t.div, t.maximum, t.minimum]) {
      const y = fn(nan, one).dataSync();
      expect(Number.isNaN(y[0]) && Number.isNaN(y[1])).toBe(true);
    }
    expect(Array.from(t.eq(nan, nan).dataSync())).toEqual([0, 1]);
    expect(Array.from(t.gt(nan, 0).dataSync())).toEqual([0, 1]);
    expect(Number.isNaN(t.mul(t.scalar(0), t.scalar(Number.POSITIVE_INFINITY)).itemSync())).toBe(true);
  });

  it('a tensor that is not a Tensor or a number is refused', () => {
    expect(() => t.add(t.ones([1]), '1' as never)).toThrow('add: expected a Tensor or a number, got string');
  });
});
