import { BatchSampler, CharDataset, CharVocab } from '@tinyformer/data';
import { DecoderLM, decodeCheckpoint, resolveModelConfig, Trainer } from '@tinyformer/model';
import { Rng } from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { PRESETS, type TrainSettings } from './presets.js';
import { DEFAULT_CORPUS_SOURCE, setupRun, textHash } from './run.js';
import { trainLoop } from './train-loop.js';
import { trainerOptions } from './trainer-options.js';

const TEXT = 'the quick brown fox jumps over the lazy dog.\na tiny model learns tiny things.\n'.repeat(30);
const SETTINGS: TrainSettings = {
  ...PRESETS.tiny,
  model: { contextLength: 16, dModel: 32, nLayers: 2, nHeads: 2 },
  batchSize: 4,
  iters: 20,
};

async function losses(trainer: Trainer, sampler: BatchSampler, steps: number): Promise<number[]> {
  const out: number[] = [];
  await trainLoop({ trainer, sampler, until: steps, afterStep: ({ result }) => void out.push(result.loss) });
  return out;
}

describe('setupRun', () => {
  it('builds the run charlm train built by hand: same vocabulary, split, init, sampler seed and Trainer', async () => {
    const run = setupRun({ text: TEXT, settings: SETTINGS, seed: 7 });
    const vocab = CharVocab.fromText(TEXT);
    const dataset = new CharDataset(TEXT, vocab);
    const model = new DecoderLM(resolveModelConfig({ ...SETTINGS.model, vocabSize: vocab.size }), { seed: 7 });
    const trainer = new Trainer(model, trainerOptions(SETTINGS));
    const sampler = new BatchSampler(dataset.train, 4, 16, new Rng(8));
    expect(run.vocab.toJSON()).toEqual(vocab.toJSON());
    expect(await losses(run.trainer, run.sampler, 4)).toEqual(await losses(trainer, sampler, 4));
  });

  it("writes charlm's checkpoint metadata, with the optimizer state", async () => {
    const run = setupRun({ text: TEXT, settings: SETTINGS, seed: 3, source: 'corpus.txt' });
    await trainLoop({ trainer: run.trainer, sampler: run.sampler, until: 2 });
    const { meta, optimizer, model } = decodeCheckpoint(await run.checkpoint(1.5));
    expect(Object.keys(meta)).toEqual(['kind', 'vocab', 'step', 'samplerState', 'settings', 'seed', 'bestVal', 'data']);
    expect(meta).toMatchObject({ kind: 'charlm', step: 2, seed: 3, bestVal: 1.5, settings: SETTINGS });
    expect(meta.data).toEqual({ source: 'corpus.txt', length: TEXT.length, hash: textHash(TEXT) });
    expect(optimizer?.step).toBe(2);
    expect(model.config).toEqual(run.config);
    expect(setupRun({ text: TEXT, settings: SETTINGS, seed: 3 }).meta(null).data.source).toBe(DEFAULT_CORPUS_SOURCE);
  });
});
