import { describe, expect, it } from 'vitest';
import type { UnaryOp } from '../backend.js';
import { CpuBackend } from '../cpu/cpu-backend.js';
import * as t from '../index.js';

const fused = new CpuBackend();
const composite = new CpuBackend({ kernels: false });

describe('unaryMul: y * op(x) in one pass', () => {
  for (const op of ['geluGrad', 'siluGrad', 'step', 'sigmoid'] as UnaryOp[]) {
    it(`${op}: the fused kernel matches mul(y, unary(op, x)) on the composite backend`, () => {
      const xv = t.randn([5, 37], { seed: 1, std: 3 }).dataSync();
      const yv = t.randn([5, 37], { seed: 2 }).dataSync();
      const on = (b: CpuBackend) => {
        const x = t.tensor(xv, [5, 37], { backend: b });
        const y = t.tensor(yv, [5, 37], { backend: b });
        return [t.unaryMul(op, x, y).dataSync(), t.mul(y, t.unary(op, x)).dataSync()] as const;
      };
      const [f, fRef] = on(fused);
      const [c, cRef] = on(composite);
      expect(Array.from(c)).toEqual(Array.from(cRef));
      for (let i = 0; i < f.length; i++) {
        expect(Math.abs(f[i]! - fRef[i]!)).toBeLessThanOrEqual(4e-7 * (1 + Math.abs(fRef[i]!)));
        expect(Math.abs(f[i]! - c[i]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(c[i]!)));
      }
    });
  }

  it('stays differentiable: with autograd watching it records the product of primitives, not a fused call', () => {
    const recorded: string[] = [];
    const prev = t.autogradHooks.record;
    t.autogradHooks.record = (op) => {
      recorded.push(op);
    };
    try {
      const x = t.randn([4], { seed: 3 });
      const y = t.randn([4], { seed: 4 });
      t.unaryMul('sigmoid', x, y);
      expect(recorded).toEqual([]);
      y.requiresGrad = true;
      t.unaryMul('sigmoid', x, y);
      expect(recorded).toEqual(['mul']);
      x.requiresGrad = true;
      t.unaryMul('sigmoid', x, y);
      expect(recorded).toEqual(['mul', 'sigmoid', 'mul']);
    } finally {
      t.autogradHooks.record = prev;
    }
  });

  it('leaves no temporaries behind', () => {
    const b = new CpuBackend();
    const x = t.randn([100], { seed: 5, backend: b });
    const y = t.randn([100], { seed: 6, backend: b });
    const before = b.memory().buffers;
    t.unaryMul('geluGrad', x, y).dispose();
    const c = new CpuBackend({ kernels: false });
    const xc = t.randn([100], { seed: 5, backend: c });
    const yc = t.randn([100], { seed: 6, backend: c });
    const beforeC = c.memory().buffers;
    t.unaryMul('geluGrad', xc, yc).dispose();
    expect(b.memory().buffers).toBe(before);
    expect(c.memory().buffers).toBe(beforeC);
  });
});
