import * as t from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { backward, isParameter, Parameter, zerosLikeParam } from './index.js';

describe('Parameter', () => {
  it('is a named float32 leaf that requires grad', () => {
    const p = new Parameter(t.tensor([1, 2, 3]), 'w');
    expect(p.name).toBe('w');
    expect(p.requiresGrad).toBe(true);
    expect(p.node).toBeNull();
    expect(p.describe()).toBe("'w' [3]");
    expect(isParameter(p)).toBe(true);
    expect(isParameter(t.ones([1]))).toBe(false);
    expect(() => new Parameter(t.arange(3), 'ids')).toThrow("Parameter: 'ids' must be float32, got int32");
  });

  it('survives tidy, and so does its gradient; intermediates do not', () => {
    const b = new t.CpuBackend();
    const p = t.tidy(() => new Parameter(t.randn([3], { seed: 1, backend: b }), 'w'));
    // the initial tensor is gone, its buffer lives on in the parameter
    expect(b.memory().buffers).toBe(1);
    t.tidy(() => backward(p.mul(2).exp().sum()));
    expect(p.isDisposed).toBe(false);
    expect(p.grad!.isDisposed).toBe(false);
    expect(b.memory().buffers).toBe(2);
    p.zeroGrad();
    expect(p.grad).toBeNull();
    expect(b.memory().buffers).toBe(1);
    p.zeroGrad();
  });

  it('setValues replaces the values in place of the same size, and frees the old buffer', () => {
    const b = new t.CpuBackend();
    // a Parameter shares its initial tensor's buffer (like torch.nn.Parameter); the caller frees its own handle
    const init = t.zeros([2, 2], { backend: b });
    const p = new Parameter(init, 'w');
    init.dispose();
    expect(Array.from(p.dataSync())).toEqual([0, 0, 0, 0]);
    const before = b.memory().buffers;
    p.setValues(Float32Array.from([1, 2, 3, 4]));
    expect(p.arraySync()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(b.memory().buffers).toBe(before);
    expect(() => p.setValues(new Float32Array(3))).toThrow("Parameter.setValues: 'w' [2,2] needs 4 values, got 3");
  });

  it('zerosLikeParam makes kept zero buffers (optimizer state)', () => {
    const p = new Parameter(t.ones([2, 3]), 'w');
    const m = t.tidy(() => zerosLikeParam(p));
    expect(m.isDisposed).toBe(false);
    expect(m.shape).toEqual([2, 3]);
    expect(Array.from(m.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
