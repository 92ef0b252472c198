import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as t from '../index.js';
import { expectClose, F32_EPS, randomNormals, seedArb } from '../testing/index.js';

/** Naive batched matmul with NumPy batch broadcasting, on the logical (already transposed) operands. */
function naiveMatmul(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  transA: boolean,
  transB: boolean,
): { values: Float64Array; mag: Float64Array; shape: number[]; K: number } {
  const [ar, ac] = aShape.slice(-2) as [number, number];
  const [br, bc] = bShape.slice(-2) as [number, number];
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const N = transB ? br : bc;
  const batchShape = t.broadcastShapes('ref', aShape.slice(0, -2), bShape.slice(0, -2));
  const batch = t.sizeOf(batchShape);
  const values = new Float64Array(batch * M * N);
  const mag = new Float64Array(batch * M * N);
  const batchIndex = (flat: number, shape: readonly number[]) => {
    // the operand's own batch index for output batch `flat` (size-1 and missing dims repeat)
    let idx = 0;
    let mul = 1;
    let rest = flat;
    for (let d = batchShape.length - 1; d >= 0; d--) {
      const i = rest % batchShape[d]!;
      rest = Math.floor(rest / batchShape[d]!);
      const od = d - (batchShape.length - shape.length);
      if (od >= 0) {
        if (shape[od] !== 1) idx += i * mul;
        mul *= shape[od]!;
      }
    }
    return idx;
  };
  for (let p = 0; p < batch; p++) {
    const ao = batchIndex(p, aShape.slice(0, -2)) * ar * ac;
    const bo = batchIndex(p, bShape.slice(0, -2)) * br * bc;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        let m = 0;
        for (let k = 0; k < K; k++) {
          const av = a[ao + (transA ? k * ac + i : i * ac + k)]!;
          const bv = b[bo + (transB ? j * bc + k : k * bc + j)]!;
          s += av * bv;
          m += Math.abs(av * bv);
        }
        values[(p * M + i) * N + j] = s;
        mag[(p * M + i) * N + j] = m;
      }
    }
  }
  return { values, mag, shape: [...batchShape, M, N], K };
}

function check(aShape: number[], bShape: number[], transA: boolean, transB: boolean, seed: number): void {
  const rng = new t.Rng(seed);
  const av = randomNormals(rng, t.sizeOf(aShape));
  const bv = randomNormals(rng, t.sizeOf(bShape));
  const y = t.matmul(t.tensor(av, aShape), t.tensor(bv, bShape), { transA, transB });
  const ref = naiveMatmul(av, aShape, bv, bShape, transA, transB);
  expect(y.shape).toEqual(ref.shape);
  const label = `${t.formatShape(aShape)} x ${t.formatShape(bShape)} tA=${transA} tB=${transB}`;
  expectClose(
    y.dataSync(),
    ref.values,
    ref.mag.map((m) => Math.max(ref.K, 1) * F32_EPS * m),
    label,
  );
}

describe('matmul', () => {
  it('matches a naive triple loop for random M, K, N, transposes and broadcast batch dims', () => {
    const dim = fc.integer({ min: 1, max: 9 });
    const batchDims = fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 });
    fc.assert(
      fc.property(
        dim,
        dim,
        dim,
        fc.boolean(),
        fc.boolean(),
        batchDims,
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.nat(2),
        seedArb,
        (M, K, N, transA, transB, batch, ones, drop, seed) => {
          // operand batch shapes: suffixes of `batch` with some dims set to 1
          const aBatch = batch.map((d, i) => (ones[i] ? 1 : d));
          const bBatch = batch.slice(Math.min(drop, batch.length)).map((d, i) => (ones[i + 2] ? 1 : d));
          check(
            [...aBatch, ...(transA ? [K, M] : [M, K])],
            [...bBatch, ...(transB ? [N, K] : [K, N])],
            transA,
            transB,
            seed,
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('handles odd sizes around cache blocks (65, 1, 33) in all four transpose combinations', () => {
    let seed = 0;
    for (const [M, K, N] of [
      [65, 65, 65],
      [1, 65, 33],
      [33, 1, 65],
      [65, 17, 1],
    ] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          check(transA ? [K, M] : [M, K], transB ? [N, K] : [K, N], transA, transB, seed++);
        }
      }
    }
  });

  it('shares a rank-2 operand across a batch, and broadcasts batch dims partially', () => {
    check([4, 3, 5], [5, 2], false, false, 1);
    check([3, 5], [4, 5, 2], false, false, 2);
    check([2, 1, 3, 5], [1, 4, 5, 2], false, false, 3);
    check([2, 1, 5, 3], [4, 2, 5], true, true, 4);
  });

  it('empty dims: M = 0 gives an empty result, K = 0 gives zeros', () => {
    expect(t.matmul(t.zeros([0, 3]), t.ones([3, 4])).shape).toEqual([0, 4]);
    const z = t.matmul(t.zeros([2, 0]), t.zeros([0, 3]));
    expect(z.shape).toEqual([2, 3]);
    expect(Array.from(z.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(t.matmul(t.zeros([0, 2, 3]), t.ones([3, 4])).shape).toEqual([0, 2, 4]);
  });

  it('NaN propagates (not thrown) into exactly the rows and columns it touches', () => {
    const a = t.tensor([
      [1, Number.NaN],
      [1, 1],
    ]);
    const y = t.matmul(a, t.ones([2, 3])).dataSync();
    expect(Array.from(y.subarray(0, 3)).every(Number.isNaN)).toBe(true);
    expect(Array.from(y.subarray(3))).toEqual([2, 2, 2]);
  });

  it('shape errors name the op, both shapes and the transpose flags', () => {
    const x = t.ones([2, 3]);
    expect(() => t.matmul(x, t.ones([4, 5]))).toThrow('matmul: [2,3] x [4,5]: inner dims 3 != 4');
    expect(() => t.matmul(x, t.ones([5, 4]), { transB: true })).toThrow(
      'matmul: [2,3] x [5,4]: transB inner dims 3 != 4',
    );
    expect(() => t.matmul(x, t.ones([3, 4]), { transA: true })).toThrow(
      'matmul: [2,3] x [3,4]: transA inner dims 2 != 3',
    );
    expect(() => t.matmul(t.ones([3]), t.ones([3, 4]))).toThrow('matmul: [3] x [3,4]: both operands need rank >= 2');
    expect(() => t.matmul(t.ones([2, 2, 3]), t.ones([3, 3, 4]))).toThrow(
      'matmul: [2] and [3] do not broadcast: dim 0 is 2 vs 3',
    );
    expect(() => t.matmul(t.arange(6).reshape([2, 3]), t.ones([3, 1]))).toThrow(
      'matmul: input [2,3] must be float32, got int32',
    );
    expect(() => t.matmul(x, t.ones([4, 5]))).toThrow(t.ShapeError);
  });
});
