import { describe, expect, it } from 'vitest';
import { DecoderLM } from './decoder-lm.js';
import { type Batch, Trainer } from './trainer.js';

const text = 'hello tinyformer! hello world. ';

function batches(ids: number[], T: number): () => Batch {
  let i = 0;
  return () => {
    const x = new Int32Array(2 * T);
    const y = new Int32Array(2 * T);
    for (let b = 0; b < 2; b++) {
      const s = (i + b * 7) % (ids.length - T - 1);
      for (let t = 0; t < T; t++) {
        x[b * T + t] = ids[s + t]!;
        y[b * T + t] = ids[s + t + 1]!;
      }
    }
    i += 3;
    return { x, y, batchSize: 2, contextLength: T };
  };
}

describe('training', () => {
  for (const variant of [
    {
      norm: { kind: 'rmsnorm' as const, placement: 'pre' as const },
      ffn: { kind: 'swiglu' as const },
      positional: 'rope' as const,
    },
    {
      norm: { kind: 'layernorm' as const, placement: 'pre' as const },
      ffn: { kind: 'gelu' as const },
      positional: 'learned' as const,
    },
    {
      norm: { kind: 'layernorm' as const, placement: 'post' as const },
      ffn: { kind: 'gelu' as const },
      positional: 'learned' as const,
    },
  ]) {
    it(`overfits a short string (${variant.norm.kind}/${variant.norm.placement}/${variant.ffn.kind}/${variant.positional})`, async () => {
      const chars = [...new Set(text)].sort();
      const ids = [...text.repeat(4)].map((c) => chars.indexOf(c));
      const model = new DecoderLM(
        { vocabSize: chars.length, contextLength: 16, dModel: 32, nLayers: 2, nHeads: 2, ...variant },
        { seed: 1 },
      );
      const trainer = new Trainer(model, {
        schedule: { lr: 1e-2, warmup: 5, decaySteps: 300, minLr: 1e-3 },
        weightDecay: 0,
      });
      const next = batches(ids, 16);
      const first = await trainer.trainStep(next);
      let last = first;
      for (let s = 0; s < 250; s++) last = await trainer.trainStep(next);
      expect(first.loss).toBeGreaterThan(2);
      expect(last.loss).toBeLessThan(0.15);
    });
  }
});
