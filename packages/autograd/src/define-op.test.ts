import * as t from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { assertGradcheck, backward, defineOp, gradcheck, nodeOf, noGrad } from './index.js';

/** x*x as one op with a hand-written backward (what a fused kernel does). */
const square = defineOp<Record<string, never>>({
  name: 'fusedSquare',
  forward: ([x]) => ({ output: t.mul(x!, x!) }),
  backward: (g, ctx) => [t.mul(g, t.mul(ctx.inputs[0]!, 2))],
});

/** a * x + b with attrs, and a saved tensor used by backward */
const affine = defineOp<{ a: number }>({
  name: 'affine',
  forward: ([x, b], { a }) => {
    const scaled = t.mul(x!, a);
    return { output: t.add(scaled, b!), saved: [t.full(x!.shape, a, { backend: x!.backend })] };
  },
  backward: (g, ctx) => [t.mul(g, ctx.saved[0]!), t.sum(g, 0)],
});

const input = (shape: number[], seed: number) => {
  const rng = new t.Rng(seed);
  return { values: Array.from({ length: t.sizeOf(shape) }, () => rng.normal()), shape };
};

describe('defineOp', () => {
  it('a fused x*x with a hand-written backward passes gradcheck, alone and inside a graph', () => {
    assertGradcheck((x) => square([x], {}), [input([3, 4], 1)]);
    assertGradcheck((x) => t.exp(square([t.tanh(x)], {})).sum(), [input([5], 2)]);
  });

  it('passes attrs and saved tensors to backward', () => {
    assertGradcheck((x, b) => affine([x, b], { a: 3 }), [input([4, 2], 3), input([2], 4)]);
  });

  it('records one node named after the op, and nothing when no input requires grad or under noGrad', () => {
    const x = t.tensor([1, 2]);
    expect(nodeOf(square([x], {}))).toBeNull();
    x.requiresGrad = true;
    const y = square([x], {});
    expect(nodeOf(y)?.op).toBe('fusedSquare');
    expect(nodeOf(y)?.inputs[0]).toBe(x);
    expect(nodeOf(noGrad(() => square([x], {})))).toBeNull();
  });

  it('its forward runs without recording: intermediates inside it get no nodes', () => {
    let inner: t.Tensor | null = null;
    const op = defineOp<null>({
      name: 'twice',
      forward: ([x]) => {
        inner = t.mul(x!, 2);
        return { output: t.add(inner, 0) };
      },
      backward: (g) => [t.mul(g, 2)],
    });
    const x = t.tensor([1]);
    x.requiresGrad = true;
    backward(op([x], null).sum());
    expect(inner!.requiresGrad).toBe(false);
    expect(x.grad!.itemSync()).toBe(2);
  });

  it('gradcheck catches a wrong hand-written backward', () => {
    const wrong = defineOp<null>({
      name: 'wrongSquare',
      forward: ([x]) => ({ output: t.mul(x!, x!) }),
      backward: (g, ctx) => [t.mul(g, ctx.inputs[0]!)],
    });
    const r = gradcheck((x) => wrong([x], null), [input([3], 5)]);
    expect(r.ok).toBe(false);
    expect(r.worst).not.toBeNull();
    expect(r.worst!.analytic * 2).toBeCloseTo(r.worst!.numeric, 6);
  });

  it('a backward that returns a wrongly shaped gradient is reported with the op name', () => {
    const bad = defineOp<null>({
      name: 'badShape',
      forward: ([x]) => ({ output: t.mul(x!, 1) }),
      backward: (g) => [t.sum(g)],
    });
    const x = t.tensor([1, 2]);
    x.requiresGrad = true;
    expect(() => backward(bad([x], null).sum())).toThrow(
      "backward: rule for 'badShape' gave a gradient [] for input 0 of shape [2]",
    );
  });
});
