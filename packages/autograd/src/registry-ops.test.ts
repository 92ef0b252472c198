import * as t from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { assertGradcheck, backward, gradcheck, nodeOf, noGrad } from './index.js';

/**
 * Registry ops (defineOp in @tinyformer/tensor) on the tape: one node per call whatever the number of outputs, the
 * definition's backward rule, attributes and saved tensors handed to it, nothing recorded inside forward.
 */

const same = ([x]: readonly t.Tensor[]) => ({ outputs: [x!.shape] });

/** x*x as one op with a hand-written backward (what a fused kernel does). */
const square = t.defineOp<null>({
  name: 'testSquare',
  shapes: same,
  composite: ([x]) => ({ outputs: [t.mul(x!, x!)] }),
  backward: ([g], ctx) => [t.mul(g!, t.mul(ctx.inputs[0]!, 2))],
});

/** a * x + b with attrs, and a saved tensor used by backward */
const affine = t.defineOp<{ a: number }>({
  name: 'testAffine',
  shapes: ([x]) => ({ outputs: [x!.shape], saved: [x!.shape] }),
  composite: ([x, b], { a }) => ({
    outputs: [t.add(t.mul(x!, a), b!)],
    saved: [t.full(x!.shape, a, { backend: x!.backend })],
  }),
  backward: ([g], ctx) => [t.mul(g!, ctx.saved[0]!), t.sum(g!, 0)],
});

let backwardCalls = 0;

/** x [n, 2k] -> (2 * left half, right half squared): two outputs, one hand-written backward */
const halves = t.defineOp<{ k: number }>({
  name: 'testHalves',
  shapes: ([x], { k }) => ({
    outputs: [
      [x!.shape[0]!, k],
      [x!.shape[0]!, k],
    ],
    saved: [[x!.shape[0]!, k]],
  }),
  composite: ([x], { k }) => {
    const n = x!.shape[0]!;
    const left = t.slice(x!, [0, 0], [n, k]);
    const right = t.slice(x!, [0, k], [n, k]);
    return { outputs: [t.mul(left, 2), t.mul(right, right)], saved: [right] };
  },
  backward: ([gl, gr], { inputs, saved, attrs }) => {
    backwardCalls++;
    const x = inputs[0]!;
    const n = x.shape[0]!;
    const zero = () => t.zeros([n, attrs.k], { backend: x.backend });
    const dl = gl ? t.mul(gl, 2) : zero();
    const dr = gr ? t.mul(gr, t.mul(saved[0]!, 2)) : zero();
    return [t.concat([dl, dr], 1)];
  },
});

const input = (shape: number[], seed: number) => {
  const rng = new t.Rng(seed);
  return { values: Array.from({ length: t.sizeOf(shape) }, () => rng.normal()), shape };
};

describe('registry ops on the tape', () => {
  it('a one-op x*x with a hand-written backward passes gradcheck, alone and inside a graph', () => {
    assertGradcheck((x) => square.apply([x], null)[0]!, [input([3, 4], 1)]);
    assertGradcheck((x) => t.exp(square.apply([t.tanh(x)], null)[0]!).sum(), [input([5], 2)]);
  });

  it('passes attrs and saved tensors to backward', () => {
    assertGradcheck((x, b) => affine.apply([x, b], { a: 3 })[0]!, [input([4, 2], 3), input([2], 4)]);
  });

  it('records one node named after the op, and nothing when no input requires grad or under noGrad', () => {
    const x = t.tensor([1, 2]);
    expect(nodeOf(square.apply([x], null)[0]!)).toBeNull();
    x.requiresGrad = true;
    const y = square.apply([x], null)[0]!;
    expect(nodeOf(y)?.op).toBe('testSquare');
    expect(nodeOf(y)?.inputs[0]).toBe(x);
    expect(nodeOf(noGrad(() => square.apply([x], null))[0]!)).toBeNull();
  });

  it('its forward runs without recording: intermediates inside it get no nodes', () => {
    let inner: t.Tensor | null = null;
    const op = t.defineOp<null>({
      name: 'testTwice',
      shapes: same,
      composite: ([x]) => {
        inner = t.mul(x!, 2);
        return { outputs: [t.add(inner, 0)] };
      },
      backward: ([g]) => [t.mul(g!, 2)],
    });
    const x = t.tensor([1]);
    x.requiresGrad = true;
    backward(op.apply([x], null)[0]!.sum());
    expect(inner!.requiresGrad).toBe(false);
    expect(x.grad!.itemSync()).toBe(2);
  });

  it('gradcheck catches a wrong hand-written backward', () => {
    const wrong = t.defineOp<null>({
      name: 'testWrongSquare',
      shapes: same,
      composite: ([x]) => ({ outputs: [t.mul(x!, x!)] }),
      backward: ([g], ctx) => [t.mul(g!, ctx.inputs[0]!)],
    });
    const r = gradcheck((x) => wrong.apply([x], null)[0]!, [input([3], 5)]);
    expect(r.ok).toBe(false);
    expect(r.worst!.analytic * 2).toBeCloseTo(r.worst!.numeric, 6);
  });

  it('a backward that returns a wrongly shaped gradient is reported with the op name', () => {
    const bad = t.defineOp<null>({
      name: 'testBadShape',
      shapes: same,
      composite: ([x]) => ({ outputs: [t.mul(x!, 1)] }),
      backward: ([g]) => [t.sum(g!)],
    });
    const x = t.tensor([1, 2]);
    x.requiresGrad = true;
    expect(() => backward(bad.apply([x], null)[0]!.sum())).toThrow(
      "backward: rule for 'testBadShape' gave a gradient [] for input 0 of shape [2]",
    );
  });

  it('several outputs: gradcheck with both used, one unused (null gradient), one used twice', () => {
    assertGradcheck(
      (x) => {
        const [a, b] = halves.apply([x], { k: 2 });
        return t.add(t.mul(a!, 3), t.exp(b!));
      },
      [input([3, 4], 1)],
    );
    assertGradcheck((x) => halves.apply([x], { k: 2 })[1]!, [input([2, 4], 2)]);
    assertGradcheck(
      (x) => {
        const [a] = halves.apply([x], { k: 1 });
        return t.mul(a!, t.tanh(a!));
      },
      [input([2, 2], 3)],
    );
  });

  it('several outputs: backward runs once for all of them, and releases every output after it', () => {
    const x = t.randn([2, 6], { seed: 4 });
    x.requiresGrad = true;
    const [a, b] = halves.apply([x], { k: 3 });
    expect(nodeOf(a!)).toBe(nodeOf(b!));
    expect(nodeOf(a!)?.outputs).toEqual([a, b]);
    backwardCalls = 0;
    backward(t.add(a!.sum(), b!.sum()));
    expect(backwardCalls).toBe(1);
    expect(nodeOf(a!)).toBeNull();
    const want = x.dataSync().map((v, i) => (i % 6 < 3 ? 2 : 2 * v));
    expect(Array.from(x.grad!.dataSync())).toEqual(Array.from(want));
  });

  it('retainGraph keeps the node for a second backward; an output cut from the loss gets a null gradient', () => {
    const x = t.randn([1, 4], { seed: 5 });
    x.requiresGrad = true;
    const [a, b] = halves.apply([x], { k: 2 });
    backward(a!.sum(), undefined, { retainGraph: true });
    expect(nodeOf(b!)).not.toBeNull();
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 2, 0, 0]);
    backward(a!.sum());
    expect(Array.from(x.grad!.dataSync())).toEqual([4, 4, 0, 0]);
  });

  it('an op declared non-differentiable records nothing', () => {
    const x = t.tensor([1, 2]);
    x.requiresGrad = true;
    const y = t.softmaxBackward(t.softmax(x), x, { log: false, causal: false });
    expect(nodeOf(y)).toBeNull();
  });
});
