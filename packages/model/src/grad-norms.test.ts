import { backward } from '@tinyformer/autograd';
import { tensor } from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import type { ModelConfigInput } from './config.js';
import { DecoderLM } from './decoder-lm.js';
import { gradNorms, layerGradNorms } from './grad-norms.js';
import { type Batch, Trainer } from './trainer.js';

const T = 8;
const config: ModelConfigInput = { vocabSize: 8, contextLength: T, dModel: 16, nLayers: 3, nHeads: 2 };
const schedule = { lr: 1e-2, warmup: 0, decaySteps: 100, minLr: 1e-3 };

function batch(seed: number, batchSize = 2): Batch {
  const x = new Int32Array(batchSize * T);
  const y = new Int32Array(batchSize * T);
  for (let i = 0; i < x.length; i++) {
    x[i] = (i * 3 + seed) % 8;
    y[i] = (i * 3 + seed + 1) % 8;
  }
  return { x, y, batchSize, contextLength: T };
}

async function hostNorm(values: Promise<Float32Array>): Promise<number> {
  let s = 0;
  for (const v of await values) s += v * v;
  return Math.sqrt(s);
}

function lossAndBackward(model: DecoderLM, b: Batch): void {
  const x = tensor(b.x, [b.batchSize, T], { dtype: 'int32' });
  const y = tensor(b.y, [b.batchSize, T], { dtype: 'int32' });
  backward(model.loss(x, y));
}

describe('gradNorms', () => {
  it('is the L2 norm of each gradient, by full parameter path, in model order', async () => {
    const model = new DecoderLM(config, { seed: 1 });
    expect(await gradNorms(model)).toEqual([]);
    lossAndBackward(model, batch(0));
    const norms = await gradNorms(model);
    const named = model.namedParameters();
    expect(norms.map((n) => n.name)).toEqual(named.map(([name]) => name));
    for (const [i, [, p]] of named.entries()) {
      expect(norms[i]!.norm).toBeCloseTo(await hostNorm(p.grad!.data()), 4);
      expect(norms[i]!.norm).toBeGreaterThan(0);
    }
    const scaled = await gradNorms(model, { scale: 0.5 });
    for (const [i, n] of scaled.entries()) expect(n.norm).toBeCloseTo(norms[i]!.norm * 0.5, 6);
    model.zeroGrad();
  });

  it('leaves out parameters without a gradient and releases what it allocates', async () => {
    const model = new DecoderLM(config, { seed: 1 });
    lossAndBackward(model, batch(0));
    const skip = model.blocks[1]!.ffn.namedParameters().length;
    model.blocks[1]!.ffn.zeroGrad();
    const backend = model.wte.weight.backend;
    const before = backend.memory().buffers;
    const norms = await gradNorms(model);
    expect(backend.memory().buffers).toBe(before);
    expect(norms).toHaveLength(model.namedParameters().length - skip);
    expect(norms.some((n) => n.name.startsWith('blocks.1.ffn.'))).toBe(false);
    model.zeroGrad();
  });
});

describe('layerGradNorms', () => {
  it('combines the parameters of each block and keeps the others by their top-level name', () => {
    const groups = layerGradNorms([
      { name: 'wte.weight', norm: 1 },
      { name: 'blocks.0.attn.wq.weight', norm: 3 },
      { name: 'blocks.0.norm1.weight', norm: 4 },
      { name: 'blocks.10.ffn.w1.weight', norm: 2 },
      { name: 'finalNorm.weight', norm: 0.5 },
    ]);
    expect(groups).toEqual([
      { group: 'wte', layer: null, norm: 1, params: 1 },
      { group: 'blocks.0', layer: 0, norm: 5, params: 2 },
      { group: 'blocks.10', layer: 10, norm: 2, params: 1 },
      { group: 'finalNorm', layer: null, norm: 0.5, params: 1 },
    ]);
  });

  it('gives one group per block of a real model, and their norms combine to the global norm', async () => {
    const model = new DecoderLM(config, { seed: 2 });
    lossAndBackward(model, batch(1));
    const norms = await gradNorms(model);
    const groups = layerGradNorms(norms);
    expect(groups.filter((g) => g.layer !== null).map((g) => g.layer)).toEqual([0, 1, 2]);
    const total = Math.hypot(...norms.map((n) => n.norm));
    expect(Math.hypot(...groups.map((g) => g.norm))).toBeCloseTo(total, 4);
    model.zeroGrad();
  });
});

describe('Trainer.trainStep onGradients', () => {
  it('sees the step gradients before the update, and their norm is the step gradNorm', async () => {
    const model = new DecoderLM(config, { seed: 3 });
    const trainer = new Trainer(model, { schedule, gradAccumulation: 2 });
    let k = 0;
    const next = () => batch(k++);
    let seen: { step: number; total: number; accum: number; weightBefore: number } | null = null;
    const w = model.blocks[0]!.attn.namedParameters()[0]![1];
    const w0 = (await w.data())[0]!;
    const r = await trainer.trainStep(next, {
      onGradients: async (m, info) => {
        const norms = await gradNorms(m, { scale: 1 / info.gradAccumulation });
        seen = {
          step: info.step,
          total: Math.hypot(...norms.map((n) => n.norm)),
          accum: info.gradAccumulation,
          weightBefore: (await w.data())[0]!,
        };
      },
    });
    expect(seen).not.toBeNull();
    expect(seen!.step).toBe(0);
    expect(seen!.accum).toBe(2);
    expect(seen!.weightBefore).toBe(w0);
    expect(seen!.total).toBeCloseTo(r.gradNorm, 4);
    // the update happened after the hook, and the gradients are cleared for the next step
    expect((await w.data())[0]).not.toBe(w0);
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('is called only when given, and a throwing hook leaves no gradients behind', async () => {
    const model = new DecoderLM(config, { seed: 4 });
    const trainer = new Trainer(model, { schedule });
    let calls = 0;
    await trainer.trainStep(() => batch(0));
    await trainer.trainStep(() => batch(1), { onGradients: () => void calls++ });
    expect(calls).toBe(1);
    await expect(
      trainer.trainStep(() => batch(2), {
        onGradients: () => {
          throw new Error('hook failed');
        },
      }),
    ).rejects.toThrow('hook failed');
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
    expect(trainer.step).toBe(2);
  });
});
