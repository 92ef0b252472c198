import './index.js';
import { assertGradcheck, grad } from '@tinyformer/autograd';
import { type Backend, CpuBackend, getBackend, randn, setBackend, type Tensor, tensor, tidy } from '@tinyformer/tensor';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { layerNormComposite, rmsNormComposite } from './composite.js';
import { layerNorm, layernormBackwardOp, layernormOp, rmsNorm, rmsnormBackwardOp, rmsnormOp } from './ops.js';

/** Asserts |a - b| <= atol + rtol * |b| elementwise, reporting the worst element. */
function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, atol = 1e-5, rtol = 1e-5): void {
  expect(a.length).toBe(b.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i]! - b[i]!) - rtol * Math.abs(b[i]!);
    if (!(err <= atol) && (worst < 0 || !(err <= worstErr))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) expect.fail(`element ${worst}: ${a[worst]} vs ${b[worst]} (tolerance ${atol} + ${rtol}*|b|)`);
}

const SHAPES: number[][] = [[7], [3, 5], [2, 3, 8], [2, 2, 3, 16], [1, 1]];

type Affine = { scale: boolean; shift: boolean };
const AFFINE: Affine[] = [
  { scale: false, shift: false },
  { scale: true, shift: false },
  { scale: false, shift: true },
  { scale: true, shift: true },
];

interface Case {
  x: Tensor;
  g: Tensor | null;
  b: Tensor | null;
  /** fixed random weights, so the gradient of sum(w * y) checks every output element (sum(y) of LayerNorm is 0) */
  w: Tensor;
}

function makeCase(shape: number[], affine: Affine, seed: number, backend?: Backend): Case {
  const dim = shape[shape.length - 1]!;
  return {
    // a non-zero mean so centering matters
    x: randn(shape, { seed, mean: 0.5, std: 2, backend }),
    g: affine.scale ? randn([dim], { seed: seed + 1, mean: 1, std: 0.5, backend }) : null,
    b: affine.shift ? randn([dim], { seed: seed + 2, backend }) : null,
    w: randn(shape, { seed: seed + 3, backend }),
  };
}

/** Values at storage precision (float64 on a float64 backend). */
function read(t: Tensor): Float64Array {
  return Float64Array.from((t.backend as CpuBackend).readValues(t.storage));
}

/** Copies a case onto another backend (same values). */
function moveCase(c: Case, backend: Backend): Case {
  const mv = (t: Tensor | null) => (t ? tensor(t.dataSync(), t.shape, { backend }) : null);
  return { x: mv(c.x)!, g: mv(c.g), b: mv(c.b), w: mv(c.w)! };
}

type NormFn = (x: Tensor, g: Tensor | null, b: Tensor | null, eps: number) => Tensor;
const OPS: { name: string; fused: NormFn; composite: NormFn; hasShift: boolean }[] = [
  {
    name: 'rmsnorm',
    fused: (x, g, _b, e) => rmsNorm(x, g, e),
    composite: (x, g, _b, e) => rmsNormComposite(x, g, e),
    hasShift: false,
  },
  { name: 'layernorm', fused: layerNorm, composite: layerNormComposite, hasShift: true },
];

/** Forward values and gradients (x, g, b) of sum(w * op(x, g, b)). */
function run(op: NormFn, c: Case, eps = 1e-5): { y: Float64Array; grads: Float64Array[] } {
  return tidy(() => {
    const y = read(op(c.x, c.g, c.b, eps));
    const inputs = [c.x, c.g, c.b].filter((t): t is Tensor => t !== null);
    const grads = grad(() => op(c.x, c.g, c.b, eps).mul(c.w).sum(), inputs).map(read);
    return { y, grads };
  });
}

describe('fused norms agree with the composites', () => {
  for (const op of OPS) {
    for (const affine of AFFINE) {
      if (affine.shift && !op.hasShift) continue;
      for (const shape of SHAPES) {
        it(`${op.name} ${JSON.stringify(shape)} scale=${affine.scale} shift=${affine.shift}: forward and gradients`, () => {
          const c = makeCase(shape, affine, shape.length * 10 + shape[shape.length - 1]!);
          const f = run(op.fused, c);
          const r = run(op.composite, c);
          expectClose(f.y, r.y);
          expect(f.grads.length).toBe(r.grads.length);
          for (const [i, g] of f.grads.entries()) expectClose(g, r.grads[i]!, 1e-4, 1e-4);
          // the check is not vacuous: dx is not all zero (with one feature a norm is constant, so dx is ~0)
          if (shape[shape.length - 1]! > 1) expect(f.grads[0]!.some((v) => Math.abs(v) > 1e-3)).toBe(true);
        });
      }
    }
  }

  it('the default CPU backend really runs the kernels (forward and backward)', () => {
    const backend = new CpuBackend();
    const ops = [rmsnormOp, rmsnormBackwardOp, layernormOp, layernormBackwardOp];
    for (const op of ops) expect(op.kernelFor(backend), op.name).not.toBeNull();
    const spies = ops.map((op) => vi.spyOn(op, 'kernelFor'));
    const c = makeCase([2, 4], { scale: true, shift: true }, 3, backend);
    run(OPS[0]!.fused, c);
    run(OPS[1]!.fused, c);
    for (const s of spies) expect(s).toHaveBeenCalled();
  });

  it('honours eps: y = x / sqrt(mean(x^2) + eps)', () => {
    const x = tensor([0.1, -0.2, 0.3, 0.05], [1, 4]);
    for (const eps of [1e-5, 0.5]) {
      const ms = (0.01 + 0.04 + 0.09 + 0.0025) / 4;
      const want = [0.1, -0.2, 0.3, 0.05].map((v) => v / Math.sqrt(ms + eps));
      expectClose(rmsNorm(x, null, eps).dataSync(), want, 1e-6);
      expectClose(rmsNormComposite(x, null, eps).dataSync(), want, 1e-6);
    }
  });
});

describe('the norm ops on a backend without kernels', () => {
  const composite = new CpuBackend({ kernels: false });
  let prev: Backend;
  beforeEach(() => {
    prev = getBackend();
  });
  afterEach(() => {
    setBackend(prev);
  });

  it('has no norm kernels (so the fallback path is what runs)', () => {
    expect(rmsnormOp.kernelFor(composite)).toBeNull();
    expect(layernormBackwardOp.kernelFor(composite)).toBeNull();
  });

  for (const op of OPS) {
    for (const affine of AFFINE) {
      if (affine.shift && !op.hasShift) continue;
      it(`${op.name} scale=${affine.scale} shift=${affine.shift}: same forward and gradients as on the fused backend`, () => {
        const shape = [2, 3, 6];
        const onFused = makeCase(shape, affine, 11, new CpuBackend());
        const onComposite = moveCase(onFused, composite);
        const ref = run(op.fused, onFused);
        const got = run(op.fused, onComposite);
        const comp = run(op.composite, onComposite);
        expectClose(got.y, ref.y);
        expectClose(got.y, comp.y);
        got.grads.forEach((g, i) => {
          expectClose(g, ref.grads[i]!, 1e-4, 1e-4);
          expectClose(g, comp.grads[i]!, 1e-4, 1e-4);
        });
      });
    }
  }

  it('works when the kernel-less backend is the default (setBackend)', () => {
    setBackend(composite);
    const x = randn([3, 5], { seed: 4 });
    expect(x.backend).toBe(composite);
    const g = randn([5], { seed: 5, mean: 1 });
    const b = randn([5], { seed: 6 });
    const y = layerNorm(x, g, b, 1e-5);
    expect(y.backend).toBe(composite);
    expectClose(y.dataSync(), layerNormComposite(x, g, b, 1e-5).dataSync());
    const r = rmsNorm(x, g, 1e-5);
    expectClose(r.dataSync(), rmsNormComposite(x, g, 1e-5).dataSync());
  });

  it('float64: the fallback path matches the composite to ~1e-12 (forward and gradients)', () => {
    const f64 = new CpuBackend({ precision: 'float64', kernels: false });
    for (const op of OPS) {
      const c = makeCase([3, 7], { scale: true, shift: op.hasShift }, 21, f64);
      const a = run(op.fused, c);
      const r = run(op.composite, c);
      expectClose(a.y, r.y, 1e-12, 1e-12);
      expect(a.grads.length).toBe(op.hasShift ? 3 : 2);
      for (const [i, g] of a.grads.entries()) expectClose(g, r.grads[i]!, 1e-12, 1e-12);
    }
  });
});

describe('gradcheck (float64 central differences)', () => {
  const xs = (shape: number[], seed: number) => {
    const t = randn(shape, { seed, mean: 0.3, std: 1.5 });
    return { values: t.dataSync(), shape };
  };
  const gs = (dim: number, seed: number) => ({
    values: randn([dim], { seed, mean: 1, std: 0.5 }).dataSync(),
    shape: [dim],
  });
  const bs = (dim: number, seed: number) => ({ values: randn([dim], { seed }).dataSync(), shape: [dim] });

  for (const shape of [[5], [2, 3, 4]]) {
    const d = shape[shape.length - 1]!;
    const tag = JSON.stringify(shape);
    it(`fused rmsNorm ${tag}: x only, and x with g`, () => {
      assertGradcheck((x) => rmsNorm(x, null, 1e-5), [xs(shape, 1)]);
      const r = assertGradcheck((x, g) => rmsNorm(x, g, 1e-5), [xs(shape, 2), gs(d, 3)]);
      expect(r.maxAbsError).toBeLessThan(1e-6);
    });
    it(`composite rmsNorm ${tag}: x only, and x with g`, () => {
      assertGradcheck((x) => rmsNormComposite(x, null, 1e-5), [xs(shape, 4)]);
      assertGradcheck((x, g) => rmsNormComposite(x, g, 1e-5), [xs(shape, 5), gs(d, 6)]);
    });
    it(`fused layerNorm ${tag}: x; x,g; x,b; x,g,b`, () => {
      assertGradcheck((x) => layerNorm(x, null, null, 1e-5), [xs(shape, 7)]);
      assertGradcheck((x, g) => layerNorm(x, g, null, 1e-5), [xs(shape, 8), gs(d, 9)]);
      assertGradcheck((x, b) => layerNorm(x, null, b, 1e-5), [xs(shape, 10), bs(d, 11)]);
      const r = assertGradcheck((x, g, b) => layerNorm(x, g, b, 1e-5), [xs(shape, 12), gs(d, 13), bs(d, 14)]);
      expect(r.maxAbsError).toBeLessThan(1e-6);
    });
    it(`composite layerNorm ${tag}: x; x,g; x,b; x,g,b`, () => {
      assertGradcheck((x) => layerNormComposite(x, null, null, 1e-5), [xs(shape, 15)]);
      assertGradcheck((x, g) => layerNormComposite(x, g, null, 1e-5), [xs(shape, 16), gs(d, 17)]);
      assertGradcheck((x, b) => layerNormComposite(x, null, b, 1e-5), [xs(shape, 18), bs(d, 19)]);
      assertGradcheck((x, g, b) => layerNormComposite(x, g, b, 1e-5), [xs(shape, 20), gs(d, 21), bs(d, 22)]);
    });
  }

  it('gradcheck would catch a wrong backward rule (sanity check of the harness)', () => {
    // y = rmsNorm(x) but with the gradient cut: the analytic gradient is 0 and must be reported as wrong
    expect(() => assertGradcheck((x) => rmsNorm(x.view(x.shape), null, 1e-5), [xs([4], 30)])).toThrow(
      /gradcheck failed/,
    );
  });
});
