import * as t from '@tinyformer/tensor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backward, grad, isGradEnabled, nodeOf, noGrad, Parameter, type PrimitiveRule, RULES } from './index.js';

let b: t.CpuBackend;
let prev: t.Backend;
beforeEach(() => {
  prev = t.getBackend();
  b = new t.CpuBackend();
  t.setBackend(b);
});
afterEach(() => t.setBackend(prev));

const leaf = (values: number[] | number[][]) => {
  const x = t.tensor(values);
  x.requiresGrad = true;
  return x;
};
const vals = (x: t.Tensor | null) => Array.from(x!.dataSync());

describe('backward', () => {
  it('accumulates the gradient of a value used twice (and as both operands)', () => {
    const x = leaf([1, 2, 3]);
    // y = x*x + 3x -> dy/dx = 2x + 3
    backward(t.add(t.mul(x, x), t.mul(x, 3)).sum());
    expect(vals(x.grad)).toEqual([5, 7, 9]);
  });

  it('accumulates through a diamond: h used by two branches', () => {
    const x = leaf([1, 2]);
    const h = x.mul(2);
    backward(t.add(h.square(), h.exp()).sum());
    // d/dx = 2 * (2h + e^h)
    expect(vals(x.grad)).toEqual([2 * (4 + Math.exp(2)), 2 * (8 + Math.exp(4))].map(Math.fround));
  });

  it('adds into leaf .grad across two backward calls (gradient accumulation) until zeroGrad', () => {
    const w = new Parameter(t.tensor([1, 2]), 'w');
    for (let i = 0; i < 2; i++) backward(w.mul(3).sum());
    expect(vals(w.grad)).toEqual([6, 6]);
    w.zeroGrad();
    expect(w.grad).toBeNull();
    backward(w.square().sum());
    expect(vals(w.grad)).toEqual([2, 4]);
  });

  it('gives each leaf its own gradient tensor, even when a rule hands the same one to two inputs', () => {
    const w1 = new Parameter(t.ones([3]), 'w1');
    const w2 = new Parameter(t.ones([3]), 'w2');
    // add's rule passes the upstream gradient to both inputs
    backward(t.add(w1, w2).mul(2).sum());
    expect(w1.grad).not.toBe(w2.grad);
    w1.zeroGrad();
    expect(vals(w2.grad)).toEqual([2, 2, 2]);
    // accumulating into one leaf must not free the other's gradient
    const w3 = new Parameter(t.ones([2]), 'w3');
    const w4 = new Parameter(t.ones([2]), 'w4');
    backward(t.add(w3, w4).sum());
    backward(t.add(w3, w4).sum());
    expect(vals(w3.grad)).toEqual([2, 2]);
    expect(vals(w4.grad)).toEqual([2, 2]);
  });

  it('gives no gradient to inputs that do not require it', () => {
    const x = leaf([1, 2]);
    const c = t.tensor([3, 4]);
    backward(t.mul(x, c).sum());
    expect(vals(x.grad)).toEqual([3, 4]);
    expect(c.grad).toBeNull();
  });

  it('takes an explicit output gradient for a non-scalar root (vector-Jacobian product)', () => {
    const x = leaf([
      [1, 2],
      [3, 4],
    ]);
    const g = t.tensor([
      [1, 0],
      [0, 2],
    ]);
    backward(x.square(), g);
    expect(vals(x.grad)).toEqual([2, 0, 0, 16]);
    expect(vals(g)).toEqual([1, 0, 0, 2]);
  });

  it('copies an explicit gradient that lands on a leaf as is (the caller may dispose it)', () => {
    const x = leaf([1, 2]);
    const g = t.tensor([5, 6]);
    backward(x, g);
    expect(x.grad).not.toBe(g);
    g.dispose();
    expect(vals(x.grad)).toEqual([5, 6]);
  });

  it('errors are clear: non-scalar root, shape mismatch, nothing requires grad', () => {
    const x = leaf([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(() => backward(x.mul(2))).toThrow(
      'backward: root [2,3] is not a scalar: pass the output gradient explicitly',
    );
    expect(() => backward(x.mul(2), t.ones([3]))).toThrow('backward: gradient [3] does not match root [2,3]');
    expect(() => backward(t.ones([1]).sum())).toThrow('backward: tensor [] does not require grad');
    expect(() => backward(x.mul(2))).toThrow(t.TensorError);
  });

  it('a primitive without a rule, a rule reading an unrecorded attribute, an op without backward: compile errors', () => {
    type Rules = { readonly [K in t.PrimitiveName]: PrimitiveRule<K> | 'none' };
    const { matmul: _dropped, ...rest } = RULES;
    // @ts-expect-error 'matmul' has no rule
    const missing: Rules = rest;
    // @ts-expect-error matmul records transA and transB, not transC
    const typo: PrimitiveRule<'matmul'> = (g, node) => [node.attrs.transC ? g : null, null];
    const noBackward = () =>
      // @ts-expect-error an op definition must say how to differentiate it, or 'none'
      t.defineOp<null>({
        name: 'noRule',
        shapes: ([x]) => ({ outputs: [x!.shape] }),
        composite: ([x]) => ({ outputs: [x!] }),
      });
    expect([missing, typo, noBackward].every((v) => v !== null)).toBe(true);
    // and at run time every unary and binary primitive has an entry
    for (const op of [...t.UNARY_OPS, 'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'gt'] as const) {
      expect(RULES[op], op).toBeDefined();
    }
  });
});

describe('the tape', () => {
  it('is released after backward: every node of the graph is dropped', () => {
    const x = leaf([1, 2]);
    const h = x.exp();
    const y = h.sum();
    expect(nodeOf(h)).not.toBeNull();
    backward(y);
    expect(nodeOf(y)).toBeNull();
    expect(nodeOf(h)).toBeNull();
    expect(y.node).toBeNull();
  });

  it('a second backward through a released graph is an error, not a silent no-op', () => {
    const x = leaf([1, 2]);
    const y = x.square().sum();
    backward(y);
    expect(() => backward(y)).toThrow(/backward: the graph of .* was released by an earlier backward\(\)/);
    expect(vals(x.grad)).toEqual([2, 4]);
  });

  it('so is a new graph that reaches into a released one (x would silently get no gradient)', () => {
    const x = leaf([1, 2]);
    const h = x.square();
    h.name = 'h';
    backward(h.sum());
    expect(() => backward(h.mul(2).sum())).toThrow(
      "backward: the graph of 'h' [2] was released by an earlier backward()",
    );
    expect(vals(x.grad)).toEqual([2, 4]);
    // used as a constant it is fine
    const z = leaf([1, 1]);
    backward(
      t
        .mul(
          z,
          noGrad(() => h.mul(1)),
        )
        .sum(),
    );
    expect(vals(z.grad)).toEqual([1, 4]);
  });

  it('retainGraph keeps it for a second pass, which accumulates', () => {
    const x = leaf([1, 2]);
    const y = x.square().sum();
    backward(y, undefined, { retainGraph: true });
    expect(nodeOf(y)).not.toBeNull();
    backward(y);
    expect(vals(x.grad)).toEqual([4, 8]);
    expect(nodeOf(y)).toBeNull();
  });

  it('noGrad records nothing and restores grad mode, also after a throw', () => {
    const x = leaf([1, 2]);
    expect(isGradEnabled()).toBe(true);
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      return x.mul(2).exp();
    });
    expect(y.requiresGrad).toBe(false);
    expect(nodeOf(y)).toBeNull();
    expect(isGradEnabled()).toBe(true);
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    // nested noGrad keeps the outer mode
    noGrad(() => {
      noGrad(() => {});
      expect(isGradEnabled()).toBe(false);
    });
  });

  it('a deep chain of 10k ops backpropagates without overflowing the stack', () => {
    const x = leaf([1]);
    const base = b.memory().buffers;
    t.tidy(() => {
      let y = x;
      for (let i = 0; i < 10_000; i++) y = y.mul(1.0001);
      backward(y.sum());
    });
    // d/dx of x * 1.0001^10000 = 1.0001^10000 ~ e (float32 rounding over the chain)
    expect(x.grad!.itemSync()).toBeCloseTo(1.0001 ** 10_000, 2);
    // only the kept gradient survives the step
    expect(b.memory().buffers).toBe(base + 1);
  });

  it('a training step inside tidy leaves only the parameter gradients behind, step after step', () => {
    const w = new Parameter(t.randn([4, 3], { seed: 1 }), 'w');
    const bias = new Parameter(t.zeros([3]), 'b');
    const x = t.randn([5, 4], { seed: 2 });
    const tg = t.tensor(new Int32Array([0, 1, 2, 0, 1]));
    const step = () =>
      t.tidy(() => {
        const loss = t.crossEntropy(t.add(t.matmul(x, w), bias), tg);
        backward(loss);
        return loss.itemSync();
      });
    step();
    const base = b.memory().buffers;
    for (let i = 0; i < 5; i++) {
      step();
      expect(b.memory().buffers).toBe(base);
    }
    w.zeroGrad();
    bias.zeroGrad();
    expect(b.memory().buffers).toBe(base - 2);
  });
});

describe('grad()', () => {
  it('returns the gradients of fn wrt the inputs without touching their .grad or requiresGrad', () => {
    const x = t.tensor([1, 2, 3]);
    const y = t.tensor([4, 5, 6]);
    const [gx, gy] = grad(() => t.mul(x, y), [x, y]);
    expect(vals(gx!)).toEqual([4, 5, 6]);
    expect(vals(gy!)).toEqual([1, 2, 3]);
    expect(x.grad).toBeNull();
    expect(x.requiresGrad).toBe(false);
  });

  it('leaves the .grad of other parameters used inside fn alone (mid-training analysis)', () => {
    const w = new Parameter(t.tensor([1, 2]), 'w');
    backward(w.sum());
    const x = t.tensor([3, 4]);
    const [gx] = grad(() => t.mul(x, w), [x]);
    expect(vals(gx!)).toEqual([1, 2]);
    expect(vals(w.grad)).toEqual([1, 1]);
  });

  it('gives zeros for an input the output does not depend on', () => {
    const x = t.tensor([1, 2]);
    const y = t.tensor([3, 4]);
    const [, gy] = grad(() => x.add(y).add(t.mul(x, 0)), [x, y]);
    expect(vals(gy!)).toEqual([1, 1]);
    const [, gz] = grad(() => x.square(), [x, t.tensor([7])]);
    expect(vals(gz!)).toEqual([0]);
    expect(gz!.requiresGrad).toBe(false);
    expect(nodeOf(gz!)).toBeNull();
  });
});
