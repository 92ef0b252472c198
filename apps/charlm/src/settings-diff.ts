import { resolveModelConfig } from '@tinyformer/model';
import type { TrainSettings } from './presets.js';

/** The flag that sets each training setting (model fields by their config path). */
export const SETTING_FLAGS: Record<string, string> = {
  batchSize: '--batch-size',
  iters: '--iters',
  lr: '--lr',
  minLr: '--min-lr',
  warmup: '--warmup',
  weightDecay: '--weight-decay',
  beta1: '--beta1',
  beta2: '--beta2',
  gradClip: '--grad-clip',
  gradAccumulation: '--accum',
  evalEvery: '--eval-every',
  evalIters: '--eval-iters',
  checkpointEvery: '--checkpoint-every',
  sampleTokens: '--sample-tokens',
  contextLength: '--context',
  dModel: '--d-model',
  nLayers: '--layers',
  nHeads: '--heads',
  'norm.kind': '--norm',
  'norm.placement': '--placement',
  'norm.eps': '--eps',
  'norm.affine': '--no-affine',
  'norm.bias': '--no-norm-bias',
  'ffn.kind': '--ffn',
  'ffn.hiddenDim': '--hidden',
  positional: '--positional',
  tieEmbeddings: '--untied',
  qkNorm: '--qk-norm',
  finalNorm: '--final-norm / --no-final-norm',
};

/**
 * Settings that only decide when to evaluate, sample and checkpoint: they do not change the trained weights, so a
 * resumed run may change them (and --iters, which extends the run).
 */
export const CADENCE_SETTINGS = ['iters', 'evalEvery', 'evalIters', 'checkpointEvery', 'sampleTokens'] as const;

/**
 * The recipe differences between `from` (a checkpoint's settings) and `to` (what the flags ask for), as
 * "--lr 0.003 -> 0.1"; model configs are compared resolved, so `{ norm: { kind: 'rmsnorm' } }` equals `{}`.
 */
export function recipeChanges(from: TrainSettings, to: TrainSettings): string[] {
  const out: string[] = [];
  const skip = new Set<string>(CADENCE_SETTINGS);
  for (const key of Object.keys(from) as (keyof TrainSettings)[]) {
    if (key === 'model' || skip.has(key)) continue;
    if (!Object.is(from[key], to[key])) out.push(`${SETTING_FLAGS[key] ?? key} ${from[key]} -> ${to[key]}`);
  }
  const a = flatten(resolveModelConfig({ ...from.model, vocabSize: 1 }) as unknown as Record<string, unknown>);
  const b = flatten(resolveModelConfig({ ...to.model, vocabSize: 1 }) as unknown as Record<string, unknown>);
  for (const key of Object.keys(a)) {
    if (!Object.is(a[key], b[key])) out.push(`${SETTING_FLAGS[key] ?? key} ${a[key]} -> ${b[key]}`);
  }
  return out;
}

function flatten(o: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object' && !Array.isArray(v))
      Object.assign(out, flatten(v as Record<string, unknown>, `${prefix}${k}.`));
    else out[prefix + k] = v;
  }
  return out;
}
