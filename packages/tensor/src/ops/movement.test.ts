import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as t from '../index.js';
import {
  concatRef,
  expectClose,
  padRef,
  permuteRef,
  randomFloats,
  seedArb,
  shapeArb,
  sliceRef,
} from '../testing/index.js';

const rand = (shape: readonly number[], seed: number) =>
  t.tensor(randomFloats(new t.Rng(seed), t.sizeOf(shape)), shape);

/** A permutation of 0..n-1 drawn by fast-check. */
const permOf = (n: number) =>
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }).map((keys) =>
    keys
      .map((k, i) => [k, i] as const)
      .sort((p, q) => p[0] - q[0])
      .map(([, i]) => i),
  );

/** A box inside `shape`: begin and size per dim, empty boxes allowed. */
const boxIn = (shape: readonly number[]) =>
  fc
    .tuple(...shape.map((d) => fc.tuple(fc.integer({ min: 0, max: d }), fc.integer({ min: 0, max: d }))))
    .map((pairs) => ({
      begin: pairs.map(([p, q]) => Math.min(p, q)),
      size: pairs.map(([p, q]) => Math.abs(p - q)),
    }));

describe('reshape', () => {
  it('round-trips through any shape of the same size, sharing storage (no copy)', () => {
    fc.assert(
      fc.property(shapeArb({ maxRank: 4 }), seedArb, (shape, seed) => {
        const x = rand(shape, seed);
        // the same factors in reverse order, and a flat view
        const other = [...shape].reverse();
        const b = x.backend.memory().buffers;
        const y = x.reshape(other).reshape([-1]).reshape(shape);
        expect(y.shape).toEqual(shape);
        expect(y.dataSync()).toEqual(x.dataSync());
        expect(x.backend.memory().buffers).toBe(b);
      }),
      { numRuns: 100 },
    );
  });

  it('infers one -1 dim, keeps int32, and handles size-0 shapes', () => {
    const x = t.arange(12);
    expect(x.reshape([3, -1]).shape).toEqual([3, 4]);
    expect(x.reshape([-1, 2, 3]).shape).toEqual([2, 2, 3]);
    expect(x.reshape([3, 4]).dtype).toBe('int32');
    expect(t.zeros([0, 3]).reshape([3, 0]).shape).toEqual([3, 0]);
    expect(t.zeros([0, 3]).reshape([-1, 3]).shape).toEqual([0, 3]);
    expect(t.scalar(2).reshape([1, 1]).shape).toEqual([1, 1]);
    expect(t.ones([1, 1]).reshape([]).shape).toEqual([]);
    const same = t.ones([2]);
    expect(same.reshape([2])).toBe(same);
  });

  it('errors name the op and both shapes', () => {
    const x = t.ones([2, 3]);
    expect(() => x.reshape([4, 2])).toThrow('reshape: cannot reshape [2,3] (6 elements) to [4,2]');
    expect(() => x.reshape([4, -1])).toThrow('reshape: cannot reshape [2,3] (6 elements) to [4,-1]');
    expect(() => x.reshape([-1, -1])).toThrow('reshape: only one dim may be -1, got [-1,-1]');
    expect(() => x.reshape([2, 1.5, 2])).toThrow('reshape: invalid target shape [2,1.5,2]');
    expect(() => t.zeros([0, 3]).reshape([0, -1])).toThrow('reshape: cannot reshape [0,3] (0 elements) to [0,-1]');
    expect(() => x.reshape([6, -2])).toThrow(t.ShapeError);
  });

  it('squeeze and unsqueeze add and drop size-1 axes', () => {
    const x = t.ones([2, 1, 3, 1]);
    expect(t.squeeze(x).shape).toEqual([2, 3]);
    expect(t.squeeze(x, 1).shape).toEqual([2, 3, 1]);
    expect(t.squeeze(x, -1).shape).toEqual([2, 1, 3]);
    expect(t.unsqueeze(t.ones([2, 3]), 0).shape).toEqual([1, 2, 3]);
    expect(t.unsqueeze(t.ones([2, 3]), -1).shape).toEqual([2, 3, 1]);
    expect(() => t.squeeze(x, 0)).toThrow('squeeze: axis 0 of [2,1,3,1] has size 2, not 1');
    expect(() => t.unsqueeze(t.ones([2]), 3)).toThrow('unsqueeze: axis 3 is out of range for a tensor of rank 2');
  });
});

describe('permute and transpose', () => {
  it('permute matches the reference, and the inverse permutation restores the input', () => {
    fc.assert(
      fc.property(
        shapeArb({ minRank: 1, maxRank: 4 }).chain((shape) => fc.tuple(fc.constant(shape), permOf(shape.length))),
        seedArb,
        ([shape, perm], seed) => {
          const x = rand(shape, seed);
          const y = t.permute(x, perm);
          expect(y.shape).toEqual(perm.map((p) => shape[p]));
          expectClose(y.dataSync(), permuteRef(x.dataSync(), shape, perm), 0, `permute [${perm}]`);
          const inverse = new Array<number>(perm.length);
          perm.forEach((p, i) => {
            inverse[p] = i;
          });
          expect(t.permute(y, inverse).dataSync()).toEqual(x.dataSync());
        },
      ),
      { numRuns: 100 },
    );
  });

  it('transpose swaps the last two axes by default, any two on request, and accepts negative axes', () => {
    const x = rand([2, 3, 4], 1);
    expect(x.transpose().shape).toEqual([2, 4, 3]);
    expect(x.transpose(0, 2).shape).toEqual([4, 3, 2]);
    expect(x.transpose(-3, -1).dataSync()).toEqual(x.transpose(0, 2).dataSync());
    expect(x.transpose().transpose().dataSync()).toEqual(x.dataSync());
    expect(t.permute(t.arange(6).reshape([2, 3]), [1, 0]).dtype).toBe('int32');
  });

  it('errors name the op and the permutation', () => {
    const x = t.ones([2, 3, 4]);
    expect(() => t.permute(x, [0, 1])).toThrow('permute: permutation [0,1] has 2 axes but the tensor [2,3,4] has 3');
    expect(() => t.permute(x, [0, 0, 1])).toThrow('permute: [0,0,1] is not a permutation');
    expect(() => t.permute(x, [0, 1, 3])).toThrow('permute: axis 3 is out of range for a tensor of rank 3');
    expect(() => t.transpose(t.ones([3]))).toThrow('transpose: needs rank >= 2, got [3]');
  });
});

describe('slice, pad, concat, split', () => {
  it('slice matches the reference for random boxes, and pad is its adjoint: slice(pad(x)) = x', () => {
    fc.assert(
      fc.property(
        shapeArb({ minRank: 1, maxRank: 4, maxDim: 5 }).chain((shape) => fc.tuple(fc.constant(shape), boxIn(shape))),
        seedArb,
        ([shape, { begin, size }], seed) => {
          const x = rand(shape, seed);
          const s = x.slice(begin, size);
          expect(s.shape).toEqual(size);
          expectClose(s.dataSync(), sliceRef(x.dataSync(), shape, begin, size), 0, 'slice');
          const p = t.padTo(s, begin, shape);
          expect(p.shape).toEqual(shape);
          expectClose(p.dataSync(), padRef(s.dataSync(), size, begin, shape), 0, 'pad');
          expect(p.slice(begin, size).dataSync()).toEqual(s.dataSync());
        },
      ),
      { numRuns: 100 },
    );
  });

  it('slice sizes of -1 run to the end, short begins pad with 0, and dtype is kept', () => {
    const x = t.arange(12).reshape([3, 4]);
    expect(x.slice([1]).arraySync()).toEqual([
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    expect(x.slice([0, 2], [-1, 1]).arraySync()).toEqual([[2], [6], [10]]);
    expect(x.slice([1, 1], [1, 2]).dtype).toBe('int32');
    expect(x.slice([0, 0])).toBe(x);
  });

  it('slice and pad errors name the op, the box and the shape', () => {
    const x = t.ones([3, 4]);
    expect(() => x.slice([2, 0], [2, 4])).toThrow('slice: box begin [2,0] size [2,4] does not fit [3,4] (dim 0)');
    expect(() => x.slice([0, -1])).toThrow('slice: box begin [0,-1] size [3,5] does not fit [3,4] (dim 1)');
    expect(() => x.slice([0, 0, 0])).toThrow('slice: begin [0,0,0] has more dims than [3,4]');
    expect(() => t.padTo(x, [1, 1], [3, 5])).toThrow('pad: [3,4] at [1,1] does not fit [3,5]');
    expect(() => t.padTo(x, [0], [3, 4])).toThrow('pad: begin and outShape must have rank 2');
  });

  it('split then concat is the identity along every axis, for equal and uneven sections', () => {
    fc.assert(
      fc.property(
        shapeArb({ minRank: 1, maxRank: 3, maxDim: 6 }).chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.integer({ min: 0, max: shape.length - 1 }),
            fc.array(fc.nat(3), { minLength: 1, maxLength: 4 }),
          ),
        ),
        seedArb,
        ([shape, axis, cuts], seed) => {
          const x = rand(shape, seed);
          const len = shape[axis]!;
          // uneven sizes (zeros allowed) that add up to len
          const points = [...new Set(cuts.map((c) => Math.min(c, len)))].sort((a, b) => a - b);
          const sizes = [...points, len].map((p, i, arr) => p - (i === 0 ? 0 : arr[i - 1]!));
          const parts = t.split(x, sizes, axis);
          expect(parts.map((p) => p.shape[axis])).toEqual(sizes);
          const back = t.concat(parts, axis);
          expect(back.shape).toEqual(shape);
          expect(back.dataSync()).toEqual(x.dataSync());
          expectClose(
            back.dataSync(),
            concatRef(
              parts.map((p) => p.dataSync()),
              parts.map((p) => p.shape),
              axis,
            ),
            0,
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('split into equal sections, negative axes, and concat of int32', () => {
    const x = t.arange(12).reshape([2, 6]);
    const parts = t.split(x, 3, -1);
    expect(parts.map((p) => p.shape)).toEqual([
      [2, 2],
      [2, 2],
      [2, 2],
    ]);
    expect(parts[1]!.arraySync()).toEqual([
      [2, 3],
      [8, 9],
    ]);
    expect(t.concat(parts, 1).dtype).toBe('int32');
    expect(t.concat([x], 0)).toBe(x);
  });

  it('split and concat errors name the op and the shapes', () => {
    const x = t.ones([2, 3]);
    expect(() => t.split(x, 2, 1)).toThrow('split: axis 1 of [2,3] (length 3) does not split into 2 equal parts');
    expect(() => t.split(x, [1, 1], 1)).toThrow('split: sizes [1,1] do not add up to 3 (axis 1 of [2,3])');
    expect(() => t.split(x, [4, -1], 1)).toThrow('split: sizes [4,-1] do not add up to 3');
    expect(() => t.concat([x, t.ones([2, 4])], 0)).toThrow('concat: shapes [2,3], [2,4] differ outside axis 0');
    expect(() => t.concat([x, t.ones([2])], 0)).toThrow('concat: shapes [2,3], [2] differ outside axis 0');
    expect(() => t.concat([], 0)).toThrow('concat: needs at least one tensor');
    expect(() => t.concat([x, x], 2)).toThrow('concat: axis 2 is out of range for a tensor of rank 2');
  });
});

describe('broadcastTo', () => {
  it('repeats values along new and size-1 dims', () => {
    const x = t.tensor([[1], [2]]);
    expect(x.broadcastTo([3, 2, 2]).arraySync()).toEqual([
      [
        [1, 1],
        [2, 2],
      ],
      [
        [1, 1],
        [2, 2],
      ],
      [
        [1, 1],
        [2, 2],
      ],
    ]);
    expect(x.broadcastTo([2, 1])).toBe(x);
    expect(t.scalar(7).broadcastTo([2]).dataSync()).toEqual(Float32Array.from([7, 7]));
  });

  it('refuses targets that are not a broadcast of the input', () => {
    expect(() => t.ones([3]).broadcastTo([2, 2])).toThrow(
      'broadcastTo: [3] and [2,2] do not broadcast: dim 1 is 3 vs 2',
    );
    expect(() => t.ones([2, 1]).broadcastTo([3])).toThrow('broadcastTo: [2,1] does not broadcast to [3]');
    expect(() => t.ones([2, 3]).broadcastTo([1, 3])).toThrow('broadcastTo: [2,3] does not broadcast to [1,3]');
  });
});
