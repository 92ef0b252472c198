import type { ModelConfigInput } from '@tinyformer/model';

/** Everything a training run needs besides the data: the model and the recipe. Every field has a charlm flag. */
export interface TrainSettings {
  /** the model config without the vocabulary size, which comes from the text */
  model: Omit<ModelConfigInput, 'vocabSize'>;
  /** windows per micro-batch */
  batchSize: number;
  /** optimizer steps of the whole run (the cosine schedule decays over them) */
  iters: number;
  /** peak learning rate, reached after `warmup` steps */
  lr: number;
  /** the learning rate at the end of the cosine decay */
  minLr: number;
  /** linear warm-up steps */
  warmup: number;
  /** AdamW's decoupled weight decay (not on norms and biases) */
  weightDecay: number;
  /** AdamW's first-moment decay */
  beta1: number;
  /** AdamW's second-moment decay */
  beta2: number;
  /** global gradient-norm clip (0: off) */
  gradClip: number;
  /** micro-batches per optimizer step */
  gradAccumulation: number;
  /** steps between evaluations (validation loss and a sample) */
  evalEvery: number;
  /** validation batches at each periodic eval (the final eval always uses at least 200) */
  evalIters: number;
  /** steps between checkpoints */
  checkpointEvery: number;
  /** characters of the sample printed at each eval */
  sampleTokens: number;
}

/** charlm's named presets (`--preset tiny | baby | small`). */
export const PRESETS = {
  /** The README run: a few minutes on a 2-core CPU, then readable-ish samples. */
  tiny: {
    model: { contextLength: 64, dModel: 96, nLayers: 3, nHeads: 4 },
    batchSize: 16,
    iters: 1200,
    lr: 3e-3,
    minLr: 3e-4,
    warmup: 50,
    weightDecay: 0.1,
    beta1: 0.9,
    beta2: 0.99,
    gradClip: 1,
    gradAccumulation: 1,
    evalEvery: 200,
    evalIters: 20,
    checkpointEvery: 200,
    sampleTokens: 240,
  },
  /**
   * nanoGPT's CPU "baby GPT" on shakespeare_char: 4 layers, 4 heads, 128 wide, context 64, batch 12, 2000 iters,
   * lr 1e-3, betas (0.9, 0.99), warmup 100, cosine to 1e-4. Our default block recipe (RMSNorm, SwiGLU, RoPE);
   * pass --norm layernorm --ffn gelu --positional learned for nanoGPT's exact recipe.
   */
  baby: {
    model: { contextLength: 64, dModel: 128, nLayers: 4, nHeads: 4 },
    batchSize: 12,
    iters: 2000,
    lr: 1e-3,
    minLr: 1e-4,
    warmup: 100,
    weightDecay: 0.1,
    beta1: 0.9,
    beta2: 0.99,
    gradClip: 1,
    gradAccumulation: 1,
    evalEvery: 250,
    evalIters: 20,
    checkpointEvery: 250,
    sampleTokens: 300,
  },
  /** nanoGPT's shakespeare_char GPU config scaled down: 6 layers, 6 heads, 384 wide, context 256. */
  small: {
    model: { contextLength: 256, dModel: 384, nLayers: 6, nHeads: 6 },
    batchSize: 32,
    iters: 5000,
    lr: 1e-3,
    minLr: 1e-4,
    warmup: 100,
    weightDecay: 0.1,
    beta1: 0.9,
    beta2: 0.99,
    gradClip: 1,
    gradAccumulation: 1,
    evalEvery: 250,
    evalIters: 20,
    checkpointEvery: 250,
    sampleTokens: 500,
  },
} satisfies Record<string, TrainSettings>;

/** The name of a preset. */
export type PresetName = keyof typeof PRESETS;

/** The preset names, in their order in {@link PRESETS}. */
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];
