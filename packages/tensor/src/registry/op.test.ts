import { afterEach, describe, expect, it } from 'vitest';
import * as t from '../index.js';

/** A toy op: y = 3x, with a counting CPU kernel (its composite is a primitive mul). */
function toy(name: string) {
  const calls = { kernel: 0 };
  const op = t.defineOp<{ k: number }>({
    name,
    shapes: ([x]) => ({ outputs: [x!.shape] }),
    composite: ([x], { k }) => ({ outputs: [t.mul(x!, k)] }),
    backward: ([g], { attrs }) => [g ? t.mul(g, attrs.k) : null],
  });
  const unregister = t.registerKernel(op, t.CpuBackend, (b, [x], { k }) => {
    calls.kernel++;
    if (x!.size === 0) return null;
    const out = b.alloc(x!.size);
    const xs = b.array(x!.storage);
    for (let i = 0; i < x!.size; i++) out.data[i] = xs[i]! * k;
    return { outputs: [out] };
  });
  return { op, calls, unregister };
}

describe('the op registry', () => {
  afterEach(() => {
    t.autogradHooks.recordOp = null;
  });

  it('runs the registered kernel on its backend class, the composite elsewhere', () => {
    const { op, calls } = toy('toyScale1');
    const x = t.tensor([1, 2, 3], [3], { backend: new t.CpuBackend() });
    expect(Array.from(op.apply([x], { k: 3 })[0]!.dataSync())).toEqual([3, 6, 9]);
    expect(calls.kernel).toBe(1);
    const c = t.tensor([1, 2, 3], [3], { backend: new t.CpuBackend({ kernels: false }) });
    expect(Array.from(op.apply([c], { k: 3 })[0]!.dataSync())).toEqual([3, 6, 9]);
    expect(calls.kernel).toBe(1);
    const off = t.tensor([1], [1], { backend: new t.CpuBackend({ disableKernels: ['toyScale1'] }) });
    op.apply([off], { k: 2 });
    expect(calls.kernel).toBe(1);
  });

  it('a kernel that declines (returns null) falls back to the composite', () => {
    const { op, calls } = toy('toyScale2');
    const y = op.apply([t.zeros([0, 4])], { k: 2 })[0]!;
    expect(y.shape).toEqual([0, 4]);
    expect(calls.kernel).toBe(1);
  });

  it('unregistering restores the composite path; applyComposite skips the kernel', () => {
    const { op, calls, unregister } = toy('toyScale3');
    op.applyComposite([t.ones([2])], { k: 2 });
    expect(calls.kernel).toBe(0);
    unregister();
    expect(op.kernelFor(new t.CpuBackend())).toBeNull();
    op.apply([t.ones([2])], { k: 2 });
    expect(calls.kernel).toBe(0);
  });

  it('a kernel that returns the wrong number of outputs is an error naming the op and the backend', () => {
    const op = t.defineOp<null>({
      name: 'toyBroken',
      shapes: ([x]) => ({ outputs: [x!.shape] }),
      composite: ([x]) => ({ outputs: [x!] }),
      backward: 'none',
    });
    t.registerKernel(op, t.CpuBackend, (b) => ({ outputs: [b.alloc(1), b.alloc(1)] }));
    const b = new t.CpuBackend();
    const before = b.memory().buffers;
    const x = t.ones([1], { backend: b });
    expect(() => op.apply([x], null)).toThrow("toyBroken: the 'cpu' kernel returned 2 outputs, the op declares 1");
    expect(b.memory().buffers).toBe(before + 1);
  });

  it('records one node per call when an input requires grad, with the definition and what forward saved', () => {
    const { op } = toy('toyScale4');
    const seen: { name: string; outputs: number }[] = [];
    t.autogradHooks.recordOp = (o, _inputs, outputs) => {
      seen.push({ name: o.name, outputs: outputs.length });
    };
    const x = t.ones([2]);
    op.apply([x], { k: 2 });
    expect(seen).toEqual([]);
    x.requiresGrad = true;
    op.apply([x], { k: 2 });
    expect(seen).toEqual([{ name: 'toyScale4', outputs: 1 }]);
    t.autogradHooks.enabled = false;
    op.apply([x], { k: 2 });
    t.autogradHooks.enabled = true;
    expect(seen.length).toBe(1);
  });

  it('shapes() runs first: bad input is refused before any kernel or composite', () => {
    let ran = false;
    const op = t.defineOp<null>({
      name: 'toyChecked',
      shapes: ([x]) => {
        if (x!.rank !== 2) throw new t.ShapeError('toyChecked', `needs a matrix, got ${t.formatShape(x!.shape)}`);
        return { outputs: [x!.shape] };
      },
      composite: ([x]) => {
        ran = true;
        return { outputs: [x!] };
      },
      backward: 'none',
    });
    expect(() => op.apply([t.ones([3])], null)).toThrow('toyChecked: needs a matrix, got [3]');
    expect(ran).toBe(false);
  });

  it('lists every defined op, the core ones included', () => {
    const names = t.registeredOps().map((o) => o.name);
    for (const n of ['softmax', 'softmaxBackward', 'crossEntropy', 'crossEntropyBackward', 'unaryMul']) {
      expect(names).toContain(n);
    }
  });
});
