import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as t from './index.js';

// each test gets its own backend as the default, so buffer counts are exact
let b: t.CpuBackend;
let prev: t.Backend;
beforeEach(() => {
  prev = t.getBackend();
  b = new t.CpuBackend();
  t.setBackend(b);
});
afterEach(() => t.setBackend(prev));

const live = () => b.memory().buffers;

describe('backend selection', () => {
  it('setBackend changes where new tensors live', () => {
    expect(t.getBackend()).toBe(b);
    expect(t.zeros([1]).backend).toBe(b);
    const other = new t.CpuBackend({ kernels: false });
    expect(t.zeros([1], { backend: other }).backend).toBe(other);
  });
});

describe('tidy', () => {
  it('disposes intermediates and keeps the returned tensor', () => {
    const x = t.randn([4, 4], { seed: 1 });
    const base = live();
    const y = t.tidy(() => x.mul(2).add(1).exp().sum());
    expect(live()).toBe(base + 1);
    expect(y.isDisposed).toBe(false);
    expect(Number.isFinite(y.itemSync())).toBe(true);
    y.dispose();
    expect(live()).toBe(base);
  });

  it('keeps tensors returned inside arrays and plain objects', () => {
    const base = live();
    const out = t.tidy(() => {
      const a = t.ones([3]).mul(2);
      const c = a.add(1);
      return { pair: [a, c], nested: { d: c.square() }, n: 3 };
    });
    expect(live()).toBe(base + 3);
    expect(Array.from(out.pair[1]!.dataSync())).toEqual([3, 3, 3]);
    expect(Array.from(out.nested.d.dataSync())).toEqual([9, 9, 9]);
  });

  it('returns to the baseline over many steps (no growth)', () => {
    const w = t.randn([8, 8], { seed: 2 }).keep();
    const base = live();
    for (let step = 0; step < 20; step++) {
      t.tidy(() => {
        const h = t.randn([4, 8], { seed: step }).matmul(w).relu();
        return t.softmax(h).sum().itemSync();
      });
      expect(live()).toBe(base);
    }
  });

  it('disposes the scope and rethrows when fn throws', () => {
    const base = live();
    expect(() =>
      t.tidy(() => {
        t.ones([2]).add(1);
        t.matmul(t.ones([2, 3]), t.ones([4, 5]));
      }),
    ).toThrow('matmul: [2,3] x [4,5]: inner dims 3 != 4');
    expect(live()).toBe(base);
  });

  it('spares tensors marked with keep()', () => {
    const base = live();
    let kept: t.Tensor | null = null;
    t.tidy(() => {
      kept = t.ones([2]).keep();
      t.ones([2]);
    });
    expect(live()).toBe(base + 1);
    expect(kept!.isDisposed).toBe(false);
  });

  it('nested: the inner result moves to the outer scope and dies there unless returned', () => {
    const base = live();
    let inner: t.Tensor | null = null;
    const outer = t.tidy(() => {
      inner = t.tidy(() => t.ones([2]).add(1));
      expect(inner.isDisposed).toBe(false);
      return inner.mul(3);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(Array.from(outer.dataSync())).toEqual([6, 6]);
    expect(live()).toBe(base + 1);
  });

  it('nested: a tensor from outside every scope, returned by an inner tidy, survives the outer one', () => {
    const x = t.ones([2]);
    t.tidy(() => {
      const same = t.tidy(() => x);
      // identity-shaped movement ops return their input
      const view = t.tidy(() => x.reshape([2]));
      return same.add(view);
    });
    expect(x.isDisposed).toBe(false);
    expect(Array.from(x.dataSync())).toEqual([1, 1]);
  });

  it('a returned view of an intermediate keeps its values', () => {
    const v = t.tidy(() => t.arange(6).add(0).reshape([2, 3]));
    expect(v.arraySync()).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
  });
});

describe('no hidden buffers outside tidy', () => {
  it('an op with a number operand leaves only its output behind', () => {
    const x = t.ones([3]);
    const base = live();
    const ys = [x.add(1), x.mul(2), t.sub(1, x), x.div(4), x.pow(2), t.maximum(x, 0), t.gt(x, 0.5)];
    expect(live()).toBe(base + ys.length);
    for (const y of ys) y.dispose();
    expect(live()).toBe(base);
  });

  it('broadcastTo and matmul with partially broadcast batch dims leave only their output behind', () => {
    const x = t.ones([3, 1]);
    const a = t.ones([2, 1, 4, 5]);
    const w = t.ones([1, 3, 5, 6]);
    const base = live();
    const y = t.broadcastTo(x, [2, 3, 4]);
    const z = t.matmul(a, w);
    expect(z.shape).toEqual([2, 3, 4, 6]);
    expect(live()).toBe(base + 2);
    y.dispose();
    z.dispose();
    expect(live()).toBe(base);
  });

  it('reductions (one axis, several, all, keepDims or not) and mean leave only their output behind', () => {
    const x = t.ones([4, 5, 2]);
    const base = live();
    const outs = [
      t.sum(x, 1),
      t.sum(x, 1, { keepDims: true }),
      t.sum(x, [0, 2]),
      t.sum(x),
      t.max(x, -1),
      t.max(x, [0, 1], { keepDims: true }),
      t.mean(x, 1),
      t.mean(x),
    ];
    expect(Array.from(outs[6]!.dataSync())).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(live()).toBe(base + outs.length);
    for (const o of outs) o.dispose();
    expect(live()).toBe(base);
  });
});
