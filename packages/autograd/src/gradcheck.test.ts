import * as t from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { assertGradcheck, gradcheck } from './index.js';

describe('gradcheck', () => {
  it('passes a correct gradient with a tiny error, computed in float64', () => {
    const r = gradcheck((x) => t.mul(t.tanh(x), t.exp(x)), [{ values: [0.3, -1.2, 2], shape: [3] }]);
    expect(r.ok).toBe(true);
    expect(r.maxAbsError).toBeLessThan(1e-8);
  });

  it('restores the default backend, also when fn throws', () => {
    const before = t.getBackend();
    gradcheck((x) => x.square(), [{ values: [1], shape: [1] }]);
    expect(t.getBackend()).toBe(before);
    expect(() => gradcheck(() => t.matmul(t.ones([2, 3]), t.ones([2, 3])), [{ values: [1], shape: [1] }])).toThrow(
      'matmul',
    );
    expect(t.getBackend()).toBe(before);
  });

  it('reports the worst element when a gradient is missing, and assertGradcheck throws it', () => {
    // a function whose rule cannot see the dependency: values go through noGrad-like detach
    const f = (x: t.Tensor) => t.mul(x, t.detach(x));
    const r = gradcheck(f, [{ values: [1, 2], shape: [2] }]);
    expect(r.ok).toBe(false);
    expect(r.worst).toMatchObject({ input: 0 });
    expect(() => assertGradcheck(f, [{ values: [1, 2], shape: [2] }])).toThrow(
      /^gradcheck failed: input 0 element \d: analytic .* vs numeric/,
    );
  });

  it('accepts tensors as inputs and passes int32 inputs through undifferentiated', () => {
    const table = t.randn([4, 3], { seed: 1 });
    const r = assertGradcheck((w, idx) => t.gather(w, idx), [table, t.tensor(new Int32Array([3, 0, 3]))]);
    expect(r.ok).toBe(true);
  });

  it('checks every output element (random weights), not only their sum', () => {
    // the sum of softmax is constant, so a sum-only check would pass any gradient that sums to zero per row
    const wrongButSumZero = (x: t.Tensor) => t.softmax(x);
    expect(gradcheck(wrongButSumZero, [{ values: [0.1, 0.5, -0.3], shape: [3] }]).ok).toBe(true);
    const r = gradcheck((x) => t.softmax(t.mul(x, 1)), [{ values: [0.1, 0.5, -0.3], shape: [3] }], { seed: 3 });
    expect(r.ok).toBe(true);
  });
});
