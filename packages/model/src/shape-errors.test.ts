// Reliability: every public op of the model packages refuses a tensor of the wrong shape (or dtype) at the call,
// with a message that names the op and the shapes involved, before any kernel runs.
import { CausalSelfAttention, KVCache } from '@tinyformer/attention';
import { Embedding, Linear, noGrad } from '@tinyformer/autograd';
import { MLP, SwiGLU } from '@tinyformer/ffn';
import { LayerNorm, RMSNorm } from '@tinyformer/norm';
import { randn, type Tensor, TensorError, tensor } from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { DecoderLM } from './decoder-lm.js';

const small = { vocabSize: 10, contextLength: 8, dModel: 8, nLayers: 2, nHeads: 2 };

function ids(rows: number[][], cols = rows[0]?.length ?? 0): Tensor {
  return tensor(Int32Array.from(rows.flat()), [rows.length, cols], { dtype: 'int32' });
}

/** The message of the TensorError that `fn` throws (fails the test when it throws nothing or something else). */
function errorOf(fn: () => unknown): string {
  try {
    noGrad(fn);
  } catch (e) {
    expect(e).toBeInstanceOf(TensorError);
    return (e as Error).message;
  }
  return expect.fail('expected a TensorError');
}

describe('shape mismatches name the op and the shapes', () => {
  it('Linear: wrong feature count, scalar input', () => {
    const l = new Linear(4, 3);
    expect(errorOf(() => l.forward(randn([2, 5])))).toBe('Linear: input [2,5] must end in 4 features');
    expect(errorOf(() => l.forward(randn([])))).toBe('Linear: input [] must end in 4 features');
  });

  it('Embedding: float ids, ids outside the table', () => {
    const e = new Embedding(5, 3);
    expect(errorOf(() => e.forward(randn([2, 2])))).toBe('Embedding: ids must be int32, got float32');
    expect(errorOf(() => e.forward(ids([[1, 5]])))).toBe('gather: index 5 at position 1 is outside [0, 5)');
  });

  it('RMSNorm and LayerNorm: wrong feature count', () => {
    expect(errorOf(() => new RMSNorm(4).forward(randn([2, 3])))).toBe('RMSNorm: input [2,3] must end in 4 features');
    expect(errorOf(() => new LayerNorm(4).forward(randn([2, 3, 5])))).toBe(
      'LayerNorm: input [2,3,5] must end in 4 features',
    );
    expect(errorOf(() => new RMSNorm(4).forward(randn([])))).toMatch(/^RMSNorm: input \[\] /);
  });

  it('CausalSelfAttention: wrong rank, wrong width', () => {
    const a = new CausalSelfAttention({ dModel: 8, nHeads: 2, positional: 'rope' });
    expect(errorOf(() => a.forward(randn([3, 8])))).toBe('CausalSelfAttention: input must be (B, T, 8), got [3,8]');
    expect(errorOf(() => a.forward(randn([1, 3, 6])))).toBe(
      'CausalSelfAttention: input must be (B, T, 8), got [1,3,6]',
    );
  });

  it('KV cache: a step whose batch differs from the cached one', () => {
    const a = new CausalSelfAttention({ dModel: 8, nHeads: 2, positional: 'rope' });
    const cache = new KVCache(1);
    noGrad(() => a.forward(randn([2, 3, 8]), cache.layers[0]));
    const msg = errorOf(() => a.forward(randn([1, 1, 8]), cache.layers[0]));
    expect(msg).toBe(
      'KVCache: new keys [1,2,1,4] do not fit the cached keys [2,2,3,4] (they may differ only in length)',
    );
    cache.clear();
  });

  it('MLP and SwiGLU: wrong feature count names the layer that refused it', () => {
    expect(errorOf(() => new MLP(8, 16).forward(randn([2, 4])))).toBe('Linear: input [2,4] must end in 8 features');
    expect(errorOf(() => new SwiGLU(8, 16).forward(randn([2, 4])))).toBe('Linear: input [2,4] must end in 8 features');
  });

  it('DecoderLM.forward: rank, dtype, empty batch or sequence, too long, cache of another model', () => {
    const m = new DecoderLM(small);
    expect(errorOf(() => m.forward(tensor(Int32Array.from([1, 2]), [2], { dtype: 'int32' })))).toBe(
      'DecoderLM.forward: ids must be (B, T), got [2]',
    );
    expect(errorOf(() => m.forward(randn([1, 2])))).toBe('DecoderLM.forward: ids must be int32, got float32');
    expect(errorOf(() => m.forward(ids([[]], 0)))).toBe(
      'DecoderLM.forward: ids [1,0] are empty: need B >= 1 and T >= 1',
    );
    expect(errorOf(() => m.forward(ids([], 4)))).toBe('DecoderLM.forward: ids [0,4] are empty: need B >= 1 and T >= 1');
    expect(errorOf(() => m.forward(ids([[0, 1, 2, 3, 4, 5, 6, 7, 8]])))).toBe(
      'DecoderLM.forward: 9 tokens exceed the context length 8',
    );
    expect(errorOf(() => m.forward(ids([[1]]), { cache: new KVCache(3) }))).toBe(
      'DecoderLM.forward: the KV cache has 3 layers, the model 2',
    );
  });

  it('DecoderLM.loss: targets of another shape or dtype', () => {
    const m = new DecoderLM(small);
    expect(errorOf(() => m.loss(ids([[1, 2]]), ids([[1, 2, 3]])))).toBe(
      'DecoderLM.loss: targets [1,3] must match ids [1,2]',
    );
    expect(errorOf(() => m.loss(ids([[1, 2]]), ids([[1], [2]])))).toBe(
      'DecoderLM.loss: targets [2,1] must match ids [1,2]',
    );
    expect(errorOf(() => m.loss(ids([[1, 2]]), randn([1, 2])))).toBe(
      'DecoderLM.loss: targets must be int32, got float32 [1,2]',
    );
  });
});
