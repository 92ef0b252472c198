import * as t from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { backward } from '../index.js';

/** A CPU backend that counts the primitive calls backward makes. */
class CountingBackend extends t.CpuBackend {
  calls: string[] = [];
  override binary(...args: Parameters<t.CpuBackend['binary']>) {
    this.calls.push(`binary:${args[0]}`);
    return super.binary(...args);
  }
  override reduce(...args: Parameters<t.CpuBackend['reduce']>) {
    this.calls.push(`reduce:${args[0]}`);
    return super.reduce(...args);
  }
}

describe('binary rules skip the gradient of an operand that does not require grad', () => {
  it('x * c with a constant c: one product for dx, no product and no reduction for dc', () => {
    const b = new CountingBackend();
    const x = t.randn([4, 8], { seed: 1, backend: b });
    const c = t.randn([8], { seed: 2, backend: b });
    x.requiresGrad = true;
    const y = t.mul(x, c);
    b.calls = [];
    backward(y, t.ones([4, 8], { backend: b }));
    expect(b.calls).toEqual(['binary:mul']);
    expect(Array.from(x.grad!.dataSync())).toEqual(Array.from(t.mul(t.ones([4, 8], { backend: b }), c).dataSync()));
    expect(c.grad).toBeNull();
  });

  it('a number operand (a scale) costs nothing beyond the input gradient', () => {
    const b = new CountingBackend();
    const x = t.randn([3, 5], { seed: 3, backend: b });
    x.requiresGrad = true;
    for (const op of ['mul', 'div', 'add', 'sub'] as const) {
      const y = t.binary(op, x, 0.5);
      b.calls = [];
      backward(y, t.ones([3, 5], { backend: b }));
      // no unbroadcast sum for the scalar; at most the input's product and the copy of the caller's gradient
      expect(b.calls.filter((c) => c.startsWith('reduce'))).toEqual([]);
      expect(b.calls.length).toBeLessThanOrEqual(2);
      x.grad = null;
    }
  });

  it('both operands requiring grad still get both gradients (a * b, a / b, a ** b)', () => {
    const b = new CountingBackend();
    const u = t.tensor([1.5, 2, 3], [3], { backend: b });
    const v = t.tensor([2, 0.5, 1], [3], { backend: b });
    u.requiresGrad = true;
    v.requiresGrad = true;
    backward(t.mul(u, v).sum());
    expect(Array.from(u.grad!.dataSync())).toEqual([2, 0.5, 1]);
    expect(Array.from(v.grad!.dataSync())).toEqual([1.5, 2, 3]);
  });
});
