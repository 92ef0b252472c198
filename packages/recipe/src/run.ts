import { BatchSampler, CharDataset, CharVocab } from '@tinyformer/data';
import {
  type AdamW,
  DecoderLM,
  encodeCheckpoint,
  generate,
  type ModelConfig,
  resolveModelConfig,
  Trainer,
  type TrainerOptions,
} from '@tinyformer/model';
import { Rng } from '@tinyformer/tensor';
import type { TrainSettings } from './presets.js';
import { trainerOptions } from './trainer-options.js';

/** The `data.source` of a run on the embedded Brown corpus (charlm train without --data). */
export const DEFAULT_CORPUS_SOURCE = 'brown (embedded default corpus)';

/** What a charlm checkpoint's metadata holds, beyond weights and optimizer moments. */
export interface TrainMeta extends Record<string, unknown> {
  /** always 'charlm': `charlm train --resume` refuses other checkpoints */
  kind: 'charlm';
  /** the characters of the vocabulary, in id order ({@link CharVocab.toJSON}) */
  vocab: string[];
  /** the next step to run */
  step: number;
  /** the batch sampler's RNG state, so a resume draws the same batches */
  samplerState: number[];
  /** the recipe */
  settings: TrainSettings;
  /** the run's seed: the model init uses it, the batch sampler `seed + 1` */
  seed: number;
  /** the best validation loss so far, or null before the first eval */
  bestVal: number | null;
  /** the training text: where it came from, its length and {@link textHash} */
  data: { source: string; length: number; hash: string };
}

/**
 * FNV-1a over the text's UTF-16 code units, so a resume on different data is refused instead of silently mixing
 * corpora.
 *
 * @param text - The training text.
 * @returns 8 hex digits.
 */
export function textHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** What {@link setupRun} builds a run from. */
export interface RunSetupOptions {
  /** the training text (train on the first 90%, validate on the rest) */
  text: string;
  /** the recipe, e.g. a preset of {@link PRESETS} with changes */
  settings: TrainSettings;
  /** the model init seed; the batch sampler uses `seed + 1` */
  seed: number;
  /** names the text in errors and in the checkpoint metadata; default {@link DEFAULT_CORPUS_SOURCE} */
  source?: string;
  /** a saved vocabulary (a resumed run); default `CharVocab.fromText(text)` */
  vocab?: CharVocab;
  /** a model with loaded weights (a resumed run); default a new one initialised from `seed` */
  model?: DecoderLM;
  /** NaN/Inf in the loss or gradients: stop (default) or skip the step */
  onNonFinite?: TrainerOptions['onNonFinite'];
}

/** A run as charlm train sets it up: every piece the loop, the evals and the checkpoints need. */
export interface Run {
  /** the vocabulary */
  vocab: CharVocab;
  /** the encoded text and its train/val split */
  dataset: CharDataset;
  /** the resolved model config (vocabulary size included) */
  config: ModelConfig;
  /** the model */
  model: DecoderLM;
  /** the trainer (AdamW, schedule, clipping) */
  trainer: Trainer;
  /** the training batches */
  sampler: BatchSampler;
  /**
   * The checkpoint metadata at the trainer's current step.
   *
   * @param bestVal - The best validation loss so far, or null.
   * @returns What charlm stores in `meta`.
   */
  meta(bestVal: number | null): TrainMeta;
  /**
   * The checkpoint bytes charlm train writes now: weights, config, optimizer moments and {@link Run.meta}.
   *
   * @param bestVal - The best validation loss so far, or null.
   * @returns A safetensors file that `charlm sample --checkpoint <file>` and `charlm train --resume` read.
   */
  checkpoint(bestVal: number | null): Promise<Uint8Array>;
}

/**
 * Builds a training run exactly as `charlm train` does (same vocabulary, split, model init seed, sampler seed and
 * Trainer options), so the same text, settings and seed give the same losses wherever it runs: Node, a browser page
 * or a Worker. Call `setBackend` first; the model is created on the current backend.
 *
 * @param o - The text, the settings, the seed; a vocabulary and model when resuming.
 * @returns The run's pieces.
 * @throws `DataError` when the text's splits are too short for one window; `ConfigError` for bad model settings.
 * @example
 * ```ts
 * const run = setupRun({ text, settings: PRESETS.tiny, seed: 1337 });
 * await trainLoop({ trainer: run.trainer, sampler: run.sampler, until: 10 });
 * const bytes = await run.checkpoint(null); // what charlm writes to checkpoint.safetensors
 * ```
 */
export function setupRun(o: RunSetupOptions): Run {
  const { text, settings, seed } = o;
  const source = o.source ?? DEFAULT_CORPUS_SOURCE;
  const vocab = o.vocab ?? CharVocab.fromText(text);
  const dataset = new CharDataset(text, vocab);
  const config = resolveModelConfig({ ...settings.model, vocabSize: vocab.size }, 'model settings');
  dataset.validate(config.contextLength, source);
  const model = o.model ?? new DecoderLM(config, { seed });
  const trainer = new Trainer(model, trainerOptions(settings, o.onNonFinite));
  const sampler = new BatchSampler(dataset.train, settings.batchSize, config.contextLength, new Rng(seed + 1));
  const data = { source, length: text.length, hash: textHash(text) };
  const meta = (bestVal: number | null): TrainMeta => ({
    kind: 'charlm',
    vocab: vocab.toJSON(),
    step: trainer.step,
    samplerState: sampler.getState(),
    settings,
    seed,
    bestVal,
    data,
  });
  return {
    vocab,
    dataset,
    config,
    model,
    trainer,
    sampler,
    meta,
    checkpoint: (bestVal) => checkpointBytes(model, trainer.optimizer, meta(bestVal)),
  };
}

/**
 * A charlm checkpoint's bytes: the model, the optimizer's moments and the metadata.
 *
 * @param model - The model.
 * @param optimizer - Its AdamW, whose moments and step are stored.
 * @param meta - The run's metadata.
 * @returns The safetensors bytes.
 */
export function checkpointBytes(model: DecoderLM, optimizer: AdamW, meta: TrainMeta): Promise<Uint8Array> {
  return encodeCheckpoint(model, { optimizer, meta });
}

/**
 * The sample charlm train prints at each eval: from a newline (or the vocabulary's first character when the text
 * has none), temperature 0.8, no top-k, seeded.
 *
 * @param model - The model.
 * @param vocab - Its vocabulary.
 * @param tokens - Characters to generate.
 * @param seed - The sampling seed (charlm uses the step).
 * @param shouldStop - Checked before each token: true ends the sample early (a Ctrl-C).
 * @returns The generated text, without the prompt.
 */
export async function evalSample(
  model: DecoderLM,
  vocab: CharVocab,
  tokens: number,
  seed: number,
  shouldStop?: () => boolean,
): Promise<string> {
  const prompt = vocab.encode(vocab.has('\n') ? '\n' : vocab.decode([0]));
  const opts = { maxTokens: tokens, temperature: 0.8, topK: 0, seed, ...(shouldStop ? { shouldStop } : {}) };
  const ids = await generate(model, Array.from(prompt), opts);
  return vocab.decode(ids);
}
