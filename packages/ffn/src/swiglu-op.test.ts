import './index.js';
import { assertGradcheck, backward } from '@tinyformer/autograd';
import { CpuBackend, mul, randn, setBackend, silu, type Tensor, TensorError, tensor } from '@tinyformer/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { SwiGLU, swiglu, swigluBackwardOp, swigluOp } from './swiglu.js';

const fused = new CpuBackend();
const composite = new CpuBackend({ kernels: false });

afterEach(() => setBackend(new CpuBackend()));

function run(b: CpuBackend, fn: (a: Tensor, v: Tensor) => Tensor) {
  const a = tensor(randn([3, 41], { seed: 1, std: 3 }).dataSync(), [3, 41], { backend: b });
  const v = tensor(randn([3, 41], { seed: 2 }).dataSync(), [3, 41], { backend: b });
  const w = tensor(randn([3, 41], { seed: 3 }).dataSync(), [3, 41], { backend: b });
  a.requiresGrad = true;
  v.requiresGrad = true;
  const y = fn(a, v);
  backward(y.mul(w).sum());
  return { y: y.dataSync(), da: a.grad!.dataSync(), dv: v.grad!.dataSync() };
}

function maxRel(x: Float32Array, y: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!) / (1 + Math.abs(y[i]!)));
  return m;
}

describe('swiglu(a, b) = silu(a) * b as one op', () => {
  it('the fused kernels match the composite path and the primitives, forward and backward', () => {
    const ref = run(composite, (a, v) => mul(silu(a), v));
    for (const [b, fn] of [
      [fused, swiglu],
      [composite, swiglu],
      [fused, (a: Tensor, v: Tensor) => mul(silu(a), v)],
    ] as const) {
      const r = run(b, fn);
      expect(maxRel(r.y, ref.y)).toBeLessThan(1e-6);
      expect(maxRel(r.da, ref.da)).toBeLessThan(1e-6);
      expect(maxRel(r.dv, ref.dv)).toBeLessThan(1e-6);
    }
    expect(swigluOp.kernelFor(fused) && swigluBackwardOp.kernelFor(fused)).toBeTruthy();
  });

  it('gradcheck (float64), and SwiGLU still passes its own', () => {
    const spec = (seed: number) => ({ values: randn([2, 5], { seed, std: 2 }).dataSync(), shape: [2, 5] });
    assertGradcheck((a, v) => swiglu(a, v), [spec(4), spec(5)]);
    assertGradcheck((x) => new SwiGLU(5, 6).forward(x), [spec(6)]);
  });

  it('refuses operands of different shapes', () => {
    expect(() => swiglu(randn([2, 3]), randn([3, 2]))).toThrow(TensorError);
  });
});
