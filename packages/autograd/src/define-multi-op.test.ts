import * as t from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { assertGradcheck, backward, defineMultiOp, nodeOf, noGrad } from './index.js';

let backwardCalls = 0;

/** x [n, 2k] -> (2 * left half, right half squared): two outputs, one hand-written backward */
const halves = defineMultiOp<{ k: number }>({
  name: 'halves',
  forward: ([x], { k }) => {
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

describe('defineMultiOp', () => {
  it('passes gradcheck with both outputs used, with one unused (null gradient), and with one used twice', () => {
    assertGradcheck(
      (x) => {
        const [a, b] = halves([x], { k: 2 });
        return t.add(t.mul(a!, 3), t.exp(b!));
      },
      [input([3, 4], 1)],
    );
    assertGradcheck((x) => halves([x], { k: 2 })[1]!, [input([2, 4], 2)]);
    assertGradcheck(
      (x) => {
        const [a] = halves([x], { k: 1 });
        return t.mul(a!, t.tanh(a!));
      },
      [input([2, 2], 3)],
    );
  });

  it('runs backward once for all outputs, and releases every output after it', () => {
    const x = t.randn([2, 6], { seed: 4 });
    x.requiresGrad = true;
    const [a, b] = halves([x], { k: 3 });
    expect(nodeOf(a!)).toBe(nodeOf(b!));
    expect(nodeOf(a!)?.outputs).toEqual([a, b]);
    backwardCalls = 0;
    backward(t.add(a!.sum(), b!.sum()));
    expect(backwardCalls).toBe(1);
    expect(nodeOf(a!)).toBeNull();
    expect(nodeOf(b!)).toBeNull();
    const want = x.dataSync().map((v, i) => (i % 6 < 3 ? 2 : 2 * v));
    expect(Array.from(x.grad!.dataSync())).toEqual(Array.from(want));
  });

  it('retainGraph keeps the node for a second backward; an output cut from the loss gets a null gradient', () => {
    const x = t.randn([1, 4], { seed: 5 });
    x.requiresGrad = true;
    const [a, b] = halves([x], { k: 2 });
    backward(a!.sum(), undefined, { retainGraph: true });
    expect(nodeOf(b!)).not.toBeNull();
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 2, 0, 0]);
    backward(a!.sum());
    expect(Array.from(x.grad!.dataSync())).toEqual([4, 4, 0, 0]);
  });

  it('records nothing when no input requires grad or under noGrad; its forward records nothing inside', () => {
    const x = t.randn([2, 2], { seed: 6 });
    expect(halves([x], { k: 1 }).map(nodeOf)).toEqual([null, null]);
    x.requiresGrad = true;
    expect(noGrad(() => halves([x], { k: 1 })).map(nodeOf)).toEqual([null, null]);
    const outs = halves([x], { k: 1 });
    expect(outs.every((o) => o.requiresGrad)).toBe(true);
    expect(nodeOf(outs[0]!)?.op).toBe('halves');
    expect(nodeOf(outs[0]!)?.inputs).toEqual([x]);
  });
});
