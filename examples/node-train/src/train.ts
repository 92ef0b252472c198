import { BatchSampler, CharDataset, CharVocab } from '@tinyformer/data';
import { DecoderLM, decodeCheckpoint, encodeCheckpoint, type ModelConfigInput, Trainer } from '@tinyformer/model';
import { Rng, tensor, tidy } from '@tinyformer/tensor';

/**
 * Training a DecoderLM from the packages, without the CLI. Nothing here imports a node: module, so the same file
 * runs in a browser page or a worker (the consumer test bundles it for the browser).
 */

/** A small embedded corpus: enough repetition for a tiny model to learn something in 30 steps. */
export const TEXT = `${[
  'the cat sat on the mat. the dog sat on the log.',
  'a cat and a dog sat in the sun and the sun was warm.',
  'the dog ran to the cat, the cat ran to the mat.',
  'on the mat the cat sat; on the log the dog sat.',
].join('\n')}\n`.repeat(8);

export const CONTEXT = 32;
export const BATCH = 8;

/** The two block layouts the example compares; only the config differs. */
export type Layout = 'rmsnorm-pre' | 'layernorm-post';

export function modelConfig(vocabSize: number, layout: Layout): ModelConfigInput {
  return {
    vocabSize,
    contextLength: CONTEXT,
    dModel: 32,
    nLayers: 2,
    nHeads: 2,
    // post-norm blocks end in their norm, so the model resolves finalNorm to false for them
    norm: layout === 'rmsnorm-pre' ? { kind: 'rmsnorm', placement: 'pre' } : { kind: 'layernorm', placement: 'post' },
  };
}

export interface TrainResult {
  model: DecoderLM;
  vocab: CharVocab;
  losses: number[];
}

/** Trains one layout for `steps` optimizer steps on {@link TEXT}; `onStep` sees each step's loss. */
export async function train(
  layout: Layout,
  steps = 30,
  onStep?: (step: number, loss: number) => void,
): Promise<TrainResult> {
  const vocab = CharVocab.fromText(TEXT);
  const dataset = new CharDataset(TEXT, vocab);
  dataset.validate(CONTEXT, 'the embedded text');
  const sampler = new BatchSampler(dataset.train, BATCH, CONTEXT, new Rng(1));
  const model = new DecoderLM(modelConfig(vocab.size, layout), { seed: 1 });
  const trainer = new Trainer(model, { schedule: { lr: 1e-2, warmup: 5, decaySteps: steps, minLr: 1e-3 } });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    // the data package's Batch is the arrays only; the trainer's also carries the batch shape
    const { loss } = await trainer.trainStep(() => ({ ...sampler.next(), batchSize: BATCH, contextLength: CONTEXT }));
    losses.push(loss);
    onStep?.(s, loss);
  }
  return { model, vocab, losses };
}

/** Mean of the first and the last `n` losses. */
export function lossDrop(losses: readonly number[], n = 5): { first: number; last: number } {
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { first: mean(losses.slice(0, n)), last: mean(losses.slice(-n)) };
}

/** The model's logits for one prompt, as plain numbers. */
export function logits(model: DecoderLM, vocab: CharVocab, prompt: string): Float32Array {
  return tidy(() => {
    const ids = vocab.encode(prompt);
    return model.forward(tensor(ids, [1, ids.length], { dtype: 'int32' })).dataSync();
  });
}

export interface RoundTrip {
  bytes: Uint8Array;
  /** the model decoded from `bytes`, with the vocabulary stored beside the weights */
  model: DecoderLM;
  vocab: CharVocab;
  /** largest |difference| between the original's and the decoded model's logits on `prompt` (0 when exact) */
  maxLogitDiff: number;
}

/** Saves to checkpoint bytes, loads them back and compares logits; bytes work the same in Node and a browser. */
export async function roundTrip(model: DecoderLM, vocab: CharVocab, prompt = 'the cat sat'): Promise<RoundTrip> {
  const bytes = await encodeCheckpoint(model, { meta: { vocab: vocab.toJSON() } });
  const { model: loaded, meta } = decodeCheckpoint(bytes, 'node-train checkpoint');
  const loadedVocab = CharVocab.fromJSON(meta.vocab);
  const a = logits(model, vocab, prompt);
  const b = logits(loaded, loadedVocab, prompt);
  let maxLogitDiff = a.length === b.length ? 0 : Number.POSITIVE_INFINITY;
  for (let i = 0; i < a.length; i++) maxLogitDiff = Math.max(maxLogitDiff, Math.abs(a[i]! - b[i]!));
  return { bytes, model: loaded, vocab: loadedVocab, maxLogitDiff };
}
