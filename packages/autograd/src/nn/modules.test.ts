import * as t from '@tinyformer/tensor';
import { expectClose } from '@tinyformer/tensor/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backward, Embedding, Linear, Module, type Parameter } from '../index.js';

let b: t.CpuBackend;
let prev: t.Backend;
beforeEach(() => {
  prev = t.getBackend();
  b = new t.CpuBackend();
  t.setBackend(b);
});
afterEach(() => t.setBackend(prev));

class Block extends Module {
  readonly fc: Linear;
  readonly emb: Embedding;
  readonly scale: Parameter;
  constructor() {
    super();
    this.emb = this.addModule('emb', new Embedding(5, 4, { rng: new t.Rng(1) }));
    this.fc = this.addModule('fc', new Linear(4, 3, { bias: true, rng: new t.Rng(2) }));
    this.scale = this.addParameter('scale', t.ones([3]));
  }
}

describe('Module', () => {
  it('lists parameters with dotted paths in registration order, and counts them', () => {
    const m = new Block();
    expect(m.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([
      ['scale', [3]],
      ['emb.weight', [5, 4]],
      ['fc.weight', [3, 4]],
      ['fc.bias', [3]],
    ]);
    expect(m.parameterCount()).toBe(3 + 20 + 12 + 3);
    expect(m.parameters().every((p) => p.requiresGrad)).toBe(true);
  });

  it('holds exactly one buffer per parameter (the initializers are not kept alive)', () => {
    const base = b.memory().buffers;
    const m = new Block();
    expect(b.memory().buffers).toBe(base + m.parameters().length);
  });

  it('loading new values (a checkpoint) does not grow memory', () => {
    const m = new Block();
    const before = b.memory().buffers;
    for (const p of m.parameters()) p.setValues(new Float32Array(p.size).fill(0.5));
    expect(b.memory().buffers).toBe(before);
    expect(Array.from(m.fc.bias!.dataSync())).toEqual([0.5, 0.5, 0.5]);
  });

  it('zeroGrad clears every gradient in the tree', () => {
    const m = new Block();
    const ids = t.tensor(new Int32Array([1, 4]));
    backward(m.fc.forward(m.emb.forward(ids)).mul(m.scale).sum());
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });
});

describe('Linear and Embedding', () => {
  it('Linear computes x W^T + b over any leading dims, with PyTorch-layout weights', () => {
    const lin = new Linear(2, 3, { bias: true });
    lin.weight.setValues(Float32Array.from([1, 0, 0, 1, 1, 1]));
    lin.bias!.setValues(Float32Array.from([10, 20, 30]));
    const y = lin.forward(t.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]));
    expect(y.shape).toEqual([2, 2, 3]);
    expect(Array.from(y.dataSync())).toEqual([11, 22, 33, 13, 24, 37, 15, 26, 41, 17, 28, 45]);
    expect(() => lin.forward(t.ones([2, 3]))).toThrow('Linear: input [2,3] must end in 2 features');
  });

  it('Linear gradients: dW = g^T x summed over rows, db = sum g', () => {
    const lin = new Linear(2, 2, { bias: true });
    const x = t.tensor([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    backward(lin.forward(x).sum());
    expectClose(lin.weight.grad!.dataSync(), [9, 12, 9, 12], 0);
    expectClose(lin.bias!.grad!.dataSync(), [3, 3], 0);
  });

  it('Embedding looks up rows of int32 ids; its gradient scatter-adds', () => {
    const e = new Embedding(3, 2);
    e.weight.setValues(Float32Array.from([0, 1, 2, 3, 4, 5]));
    const ids = t.tensor(new Int32Array([2, 0, 2]), [1, 3]);
    expect(e.forward(ids).arraySync()).toEqual([
      [
        [4, 5],
        [0, 1],
        [4, 5],
      ],
    ]);
    backward(e.forward(ids).sum());
    expect(Array.from(e.weight.grad!.dataSync())).toEqual([1, 1, 0, 0, 2, 2]);
    expect(() => e.forward(t.tensor([1, 2]))).toThrow('Embedding: ids must be int32, got float32');
  });
});
