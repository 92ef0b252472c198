import { Rng } from '@tinyformer/tensor';
import { DataError } from './errors.js';
import type { CharVocab } from './vocab.js';

/** The two parts of a {@link CharDataset}: the first 90% of the tokens train, the rest validate. */
export type SplitName = 'train' | 'val';

/** One training batch of token ids, row-major [B, T]: y[b, t] is the token after x[b, t]. */
export interface Batch {
  /** Inputs, B windows of T token ids. */
  x: Int32Array;
  /** Targets: each window shifted one token to the left. */
  y: Int32Array;
}

/** Fraction of the tokens that go to training; the rest, from the end of the text, is the validation split. */
export const TRAIN_FRACTION = 0.9;

/**
 * A corpus encoded once and split like nanoGPT's prepare.py: the first 90% of the tokens train, the last 10%
 * validate. A contiguous tail (not a random sample of windows) keeps validation text unseen during training even
 * though training windows overlap.
 *
 * @example
 * ```ts
 * const dataset = new CharDataset(text, CharVocab.fromText(text));
 * dataset.validate(64, 'input.txt'); // a DataError now rather than a crash at the first batch
 * const sampler = new BatchSampler(dataset.train, 16, 64, new Rng(1337));
 * ```
 */
export class CharDataset {
  /** The vocabulary the text was encoded with. */
  readonly vocab: CharVocab;
  /** All token ids; train and val are views into it. */
  readonly tokens: Int32Array;
  /** The first {@link TRAIN_FRACTION} of the tokens. */
  readonly train: Int32Array;
  /** The tokens after the training split. */
  readonly val: Int32Array;

  /**
   * @param text - The corpus.
   * @param vocab - A vocabulary holding every character of `text` (usually `CharVocab.fromText(text)`, or a
   *   checkpoint's vocabulary to evaluate it on new text).
   * @throws {@link DataError} naming the first character of `text` that `vocab` lacks.
   */
  constructor(text: string, vocab: CharVocab) {
    this.vocab = vocab;
    this.tokens = vocab.encode(text);
    const n = Math.floor(TRAIN_FRACTION * this.tokens.length);
    this.train = this.tokens.subarray(0, n);
    this.val = this.tokens.subarray(n);
  }

  /**
   * One split by name.
   *
   * @param name - `train` or `val`.
   * @returns A view into {@link CharDataset.tokens}.
   */
  split(name: SplitName): Int32Array {
    return name === 'train' ? this.train : this.val;
  }

  /**
   * Check that training with windows of `contextLength` tokens can work: each split needs one window plus the
   * target after it, and a corpus of one repeated character has nothing to learn. `source` (the file, say) starts
   * each message, so the user knows which input is at fault.
   *
   * @param contextLength - The model's context length, in tokens.
   * @param source - What the text came from, to prefix the error message with.
   * @throws {@link DataError} when `contextLength` is not a positive integer, a split is too short for one window
   *   plus its target, or the corpus holds a single distinct character.
   */
  validate(contextLength: number, source?: string): void {
    try {
      this.validateSplits(contextLength);
    } catch (e) {
      if (source !== undefined && e instanceof DataError) throw new DataError(`${source}: ${e.message}`);
      throw e;
    }
  }

  private validateSplits(contextLength: number): void {
    checkPositiveInt('contextLength', contextLength);
    for (const name of ['train', 'val'] as const) {
      const length = this.split(name).length;
      if (length < contextLength + 1) {
        throw new DataError(
          `the ${name} split has ${length} tokens but context length ${contextLength} needs at least ` +
            `${contextLength + 1} (one window plus its next-token target); the ${name} split is ` +
            `${name === 'train' ? 'the first 90%' : 'the last 10%'} of a ${this.tokens.length}-character corpus: ` +
            'use more text or a shorter context',
        );
      }
    }
    const first = this.tokens[0];
    if (this.tokens.every((id) => id === first)) {
      const ch = first === undefined ? '' : ` (${JSON.stringify(this.vocab.charOf(first))})`;
      throw new DataError(`the corpus holds only one distinct character${ch}: there is nothing to learn`);
    }
  }
}

/**
 * Random contiguous windows of one split, like nanoGPT's get_batch. Every draw comes from `rng`, so the batches
 * are a pure function of its state: save getState() in a checkpoint and setState() on resume, and the resumed run
 * sees exactly the batches the uninterrupted run would have.
 *
 * @example
 * ```ts
 * const sampler = new BatchSampler(dataset.train, 16, 64, new Rng(1337));
 * const { x, y } = sampler.next(); // two Int32Array of 16 * 64 ids
 * const state = sampler.getState(); // save with the checkpoint; setState(state) on resume
 * ```
 */
export class BatchSampler {
  /** B: windows per batch. */
  readonly batchSize: number;
  /** T: tokens per window. */
  readonly contextLength: number;
  private readonly data: Int32Array;
  private readonly rng: Rng;

  /**
   * @param split - The token ids to draw windows from (a {@link CharDataset} split).
   * @param batchSize - B, a positive integer.
   * @param contextLength - T, a positive integer.
   * @param rng - The only source of randomness; the sampler advances it.
   * @throws {@link DataError} when B or T is not a positive integer or the split is shorter than T + 1 tokens.
   */
  constructor(split: Int32Array, batchSize: number, contextLength: number, rng: Rng) {
    checkPositiveInt('batchSize', batchSize);
    checkPositiveInt('contextLength', contextLength);
    if (split.length < contextLength + 1) {
      throw new DataError(
        `BatchSampler: a split of ${split.length} tokens is too short for context length ${contextLength} ` +
          `(needs at least ${contextLength + 1})`,
      );
    }
    this.data = split;
    this.batchSize = batchSize;
    this.contextLength = contextLength;
    this.rng = rng;
  }

  /**
   * The next batch: B windows starting at uniform offsets in [0, N - T - 1].
   *
   * @returns Fresh arrays of B * T ids, row-major.
   */
  next(): Batch {
    const B = this.batchSize;
    const T = this.contextLength;
    const x = new Int32Array(B * T); // (B, T)
    const y = new Int32Array(B * T); // (B, T)
    // N - T start positions keep the last target, data[start + T], inside the split
    const starts = this.data.length - T;
    for (let b = 0; b < B; b++) {
      const start = this.rng.int(starts);
      x.set(this.data.subarray(start, start + T), b * T);
      y.set(this.data.subarray(start + 1, start + T + 1), b * T);
    }
    return { x, y };
  }

  /**
   * The state of the sampler's Rng, for checkpoints.
   *
   * @returns Four uint32 words.
   */
  getState(): number[] {
    return this.rng.getState();
  }

  /**
   * Resume from a state that {@link BatchSampler.getState} returned.
   *
   * @param state - Four uint32 words.
   * @throws Error when `state` is not four uint32 words.
   */
  setState(state: readonly number[]): void {
    this.rng.setState(state);
  }
}

/**
 * A fixed list of `count` batches for estimating validation (or training) loss: the same seed always gives the
 * same windows, so losses from different steps, runs and resumes are measured on the same text and comparable.
 *
 * @param split - The token ids to draw windows from.
 * @param batchSize - B, a positive integer.
 * @param contextLength - T, a positive integer.
 * @param count - How many batches, a positive integer.
 * @param seed - Seeds the sampler's Rng.
 * @returns `count` batches.
 * @throws {@link DataError} on a count, B or T that is not a positive integer, or a split shorter than T + 1.
 */
export function evalBatches(
  split: Int32Array,
  batchSize: number,
  contextLength: number,
  count: number,
  seed: number,
): Batch[] {
  checkPositiveInt('count', count);
  const sampler = new BatchSampler(split, batchSize, contextLength, new Rng(seed));
  return Array.from({ length: count }, () => sampler.next());
}

function checkPositiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new DataError(`${name} must be a positive integer, got ${value}`);
}
