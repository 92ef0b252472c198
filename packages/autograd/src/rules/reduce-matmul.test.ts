import * as t from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { assertGradcheck, backward, type GradcheckInput } from '../index.js';

function inp(shape: number[], seed: number, low = -1, high = 1): GradcheckInput {
  const rng = new t.Rng(seed);
  return { values: Float64Array.from({ length: t.sizeOf(shape) }, () => low + (high - low) * rng.uniform()), shape };
}

describe('reduction backward rules', () => {
  const AXES: [t.Axes, boolean][] = [
    [undefined, false],
    [0, false],
    [-1, true],
    [[0, 2], false],
    [[2, 1], true],
    [[0, 1, 2], true],
  ];
  for (const [name, fn] of [
    ['sum', t.sum],
    ['mean', t.mean],
    ['max', t.max],
  ] as const) {
    it(`${name} over axes ${AXES.map(([a, k]) => `${JSON.stringify(a ?? 'all')}${k ? '(keepDims)' : ''}`).join(', ')}`, () => {
      // continuous random values: ties (where max is not differentiable) do not occur
      AXES.forEach(([axes, keepDims], j) => {
        assertGradcheck((x) => fn(x, axes, { keepDims }), [inp([2, 3, 4], j)]);
      });
    });
  }

  it('max splits the gradient evenly between tied maxima', () => {
    const x = t.tensor(
      [
        [1, 3, 3],
        [5, 2, 5],
      ],
      undefined,
      { backend: new t.CpuBackend() },
    );
    x.requiresGrad = true;
    backward(t.max(x, 1).sum());
    expect(x.grad!.arraySync()).toEqual([
      [0, 0.5, 0.5],
      [0.5, 0, 0.5],
    ]);
  });

  it('sum of a broadcast product (gradient flows back through both)', () => {
    assertGradcheck((a, b) => t.sum(t.mul(a, b), [0, 1]), [inp([3, 1, 2], 1), inp([4, 2], 2)]);
  });
});

describe('matmul backward rule', () => {
  const MKN: [number, number, number][] = [
    [3, 4, 2],
    [1, 5, 3],
    [4, 1, 1],
  ];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`transA=${transA} transB=${transB}`, () => {
        MKN.forEach(([M, K, N], j) => {
          const a = transA ? [K, M] : [M, K];
          const b = transB ? [N, K] : [K, N];
          assertGradcheck((x, y) => t.matmul(x, y, { transA, transB }), [inp(a, j), inp(b, j + 10)]);
        });
      });

      it(`batched and batch-broadcast, transA=${transA} transB=${transB}`, () => {
        const [M, K, N] = [3, 2, 4];
        const a = (batch: number[]) => [...batch, ...(transA ? [K, M] : [M, K])];
        const b = (batch: number[]) => [...batch, ...(transB ? [N, K] : [K, N])];
        const cases: [number[], number[]][] = [
          [[2], [2]],
          // a rank-2 operand shared across the batch: its gradient is summed over the batch
          [[2], []],
          [[], [3]],
          // partial broadcasting: materialized copies, gradients reduced back
          [
            [2, 1],
            [1, 2],
          ],
          [[1], [2]],
        ];
        cases.forEach(([ba, bb], j) => {
          assertGradcheck((x, y) => t.matmul(x, y, { transA, transB }), [inp(a(ba), 20 + j), inp(b(bb), 30 + j)]);
        });
      });
    }
  }

  it('a two-layer chain with a shared weight: (x W) W^T', () => {
    assertGradcheck(
      (x, w) => t.matmul(t.tanh(t.matmul(x, w)), w, { transB: true }),
      [inp([2, 3, 4], 40), inp([4, 5], 41)],
    );
  });
});
