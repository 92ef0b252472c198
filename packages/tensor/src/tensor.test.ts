import { describe, expect, it } from 'vitest';
import type { Backend } from './backend.js';
import * as t from './index.js';

describe('creating tensors', () => {
  it('infers shapes from nested arrays and keeps row-major order', () => {
    const x = t.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(x.shape).toEqual([2, 3]);
    expect(x.rank).toBe(2);
    expect(x.size).toBe(6);
    expect(x.dtype).toBe('float32');
    expect(Array.from(x.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(x.arraySync()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.tensor([[[1], [2]]]).shape).toEqual([1, 2, 1]);
  });

  it('makes scalars, empty tensors and shaped flat arrays', () => {
    const s = t.tensor(3.5);
    expect(s.shape).toEqual([]);
    expect(s.itemSync()).toBe(3.5);
    expect(s.arraySync()).toBe(3.5);
    expect(t.tensor([]).shape).toEqual([0]);
    expect(t.tensor([1, 2, 3, 4, 5, 6], [3, 2]).arraySync()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(t.tensor(new Float32Array(0), [2, 0, 3]).shape).toEqual([2, 0, 3]);
  });

  it('rounds float64 input to float32 on a float32 backend', () => {
    expect(t.tensor([0.1]).dataSync()[0]).toBe(Math.fround(0.1));
  });

  it('gives int32 tensors for Int32Array input or dtype int32, and checks the values are integers', () => {
    expect(t.tensor(new Int32Array([1, 2])).dtype).toBe('int32');
    expect(t.tensor([1, 2], undefined, { dtype: 'int32' }).dtype).toBe('int32');
    expect(t.tensor(new Int32Array([1, 2]), undefined, { dtype: 'float32' }).dtype).toBe('float32');
    expect(() => t.tensor([1, 2.5], undefined, { dtype: 'int32' })).toThrow(
      'tensor: int32 tensor value 2.5 at 1 is not an integer within +-2^24',
    );
    expect(() => t.tensor([2 ** 25], undefined, { dtype: 'int32' })).toThrow('tensor: int32 tensor value');
  });

  it('rejects ragged arrays and size mismatches naming the op', () => {
    expect(() => t.tensor([[1, 2], [3]])).toThrow(/^tensor: ragged nested array: expected length 2 at depth 1/);
    expect(() => t.tensor([[1, 2], 3] as never)).toThrow('tensor: ragged nested array');
    expect(() => t.tensor([1, 2, 3, 4, 5], [2, 3])).toThrow('tensor: 5 values do not fill shape [2,3] (needs 6)');
    expect(() => t.tensor([1, 2], [2, -1])).toThrow('tensor: invalid shape [2,-1]');
  });

  it('full, zeros, ones, scalar and the *Like variants', () => {
    expect(Array.from(t.full([2, 2], 7).dataSync())).toEqual([7, 7, 7, 7]);
    expect(Array.from(t.zeros([3]).dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(t.ones([2]).dataSync())).toEqual([1, 1]);
    expect(t.scalar(4).shape).toEqual([]);
    const i = t.tensor(new Int32Array([1, 2, 3]));
    const z = t.zerosLike(i);
    expect(z.dtype).toBe('int32');
    expect(z.shape).toEqual([3]);
    expect(Array.from(t.onesLike(t.zeros([2, 1])).dataSync())).toEqual([1, 1]);
    expect(() => t.full([-1], 0)).toThrow('full: invalid shape [-1]: dims must be integers >= 0');
  });

  it('arange counts like NumPy (int32 for integer steps)', () => {
    const a = t.arange(5);
    expect(a.dtype).toBe('int32');
    expect(Array.from(a.dataSync())).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(t.arange(2, 8, 3).dataSync())).toEqual([2, 5]);
    expect(Array.from(t.arange(5, 0, -2).dataSync())).toEqual([5, 3, 1]);
    expect(t.arange(3, 3).shape).toEqual([0]);
    expect(t.arange(5, 0).shape).toEqual([0]);
    const f = t.arange(0, 1, 0.25);
    expect(f.dtype).toBe('float32');
    expect(Array.from(f.dataSync())).toEqual([0, 0.25, 0.5, 0.75]);
    expect(() => t.arange(0, 5, 0)).toThrow('arange: step must be finite and non-zero, got 0');
  });
});

describe('reading values', () => {
  it('data(), toArray() and item() agree with the synchronous readers', async () => {
    const x = t.tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(await x.data()).toEqual(x.dataSync());
    expect(await x.toArray()).toEqual(x.arraySync());
    expect(await t.scalar(2).item()).toBe(2);
  });

  it('returns a fresh copy each time', () => {
    const x = t.tensor([1, 2, 3]);
    const v = x.dataSync();
    v[0] = 100;
    expect(x.dataSync()[0]).toBe(1);
  });

  it('item() needs exactly one element', async () => {
    expect(() => t.tensor([1, 2]).itemSync()).toThrow('item: expected a tensor with one element, got [2]');
    await expect(t.zeros([0]).item()).rejects.toThrow('item: expected a tensor with one element, got [0]');
    expect(t.tensor([[5]]).itemSync()).toBe(5);
  });

  it('dataSync on an asynchronous backend says to use await data()', async () => {
    const inner = new t.CpuBackend();
    const asyncBackend: Backend = Object.assign(Object.create(inner) as t.CpuBackend, {
      name: 'fake-async',
      synchronous: false,
      downloadSync: undefined,
      download: (s: object, n: number) => inner.download(s as t.CpuStorage, n),
    });
    const x = t.tensor([1, 2], undefined, { backend: asyncBackend });
    expect(() => x.dataSync()).toThrow("dataSync: backend 'fake-async' is asynchronous: use await t.data()");
    expect(Array.from(await x.data())).toEqual([1, 2]);
  });

  it('toString and describe show the shape, the dtype and the name', () => {
    const x = t.zeros([2, 3]);
    expect(x.toString()).toBe('Tensor([2,3], float32, cpu)');
    expect(x.describe()).toBe('[2,3]');
    x.name = 'wte';
    expect(x.describe()).toBe("'wte' [2,3]");
  });
});

describe('dispose and views', () => {
  it('dispose frees the buffer once, and a second dispose is a no-op', () => {
    const b = new t.CpuBackend();
    const base = b.memory().buffers;
    const x = t.zeros([4], { backend: b });
    expect(b.memory().buffers).toBe(base + 1);
    x.dispose();
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expect(b.memory().buffers).toBe(base);
  });

  it('reading or computing with a disposed tensor is a clear TensorError', async () => {
    const x = t.tensor([1, 2, 3, 4], [2, 2]);
    x.dispose();
    expect(() => x.dataSync()).toThrow('tensor: tensor [2,2] was used after dispose()');
    expect(() => x.dataSync()).toThrow(t.TensorError);
    await expect(x.data()).rejects.toThrow('was used after dispose()');
    expect(() => t.add(x, 1)).toThrow('add: input [2,2] was used after dispose()');
    expect(() => t.exp(x)).toThrow('exp: input [2,2] was used after dispose()');
    expect(() => t.matmul(x, t.ones([2, 2]))).toThrow('matmul: input [2,2] was used after dispose()');
    expect(() => x.reshape([4])).toThrow('reshape: input [2,2] was used after dispose()');
  });

  it('a reshape view shares the buffer, which is freed with the last view', () => {
    const b = new t.CpuBackend();
    const base = b.memory().buffers;
    const x = t.tensor([1, 2, 3, 4, 5, 6], [2, 3], { backend: b });
    const v = x.reshape([3, 2]);
    expect(b.memory().buffers).toBe(base + 1);
    x.dispose();
    expect(b.memory().buffers).toBe(base + 1);
    expect(Array.from(v.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    v.dispose();
    expect(b.memory().buffers).toBe(base);
  });

  it('replaceStorage swaps the buffer and frees the old one', () => {
    const b = new t.CpuBackend();
    const x = t.tensor([1, 2], undefined, { backend: b });
    const before = b.memory().buffers;
    x.replaceStorage(b.upload(Float32Array.from([5, 6])));
    expect(b.memory().buffers).toBe(before);
    expect(Array.from(x.dataSync())).toEqual([5, 6]);
  });

  it('ops refuse inputs from two different backends, naming both', () => {
    const a = t.ones([2], { backend: new t.CpuBackend() });
    const c = t.ones([2], { backend: new t.CpuBackend({ kernels: false }) });
    expect(() => t.add(a, c)).toThrow("add: inputs live on different backends ('cpu' and 'cpu(composite)')");
  });
});
