import type { TrainerOptions } from '@tinyformer/model';
import type { TrainSettings } from './presets.js';

/**
 * The Trainer's options for a run with these settings: cosine schedule over all `iters`, AdamW, clipping.
 *
 * @param s - The run's settings.
 * @param onNonFinite - NaN/Inf in the loss or gradients: stop (`'throw'`, the default) or skip the step.
 * @returns The options of `new Trainer(model, options)`.
 */
export function trainerOptions(s: TrainSettings, onNonFinite: TrainerOptions['onNonFinite'] = 'throw'): TrainerOptions {
  return {
    schedule: { lr: s.lr, warmup: s.warmup, decaySteps: s.iters, minLr: s.minLr },
    beta1: s.beta1,
    beta2: s.beta2,
    weightDecay: s.weightDecay,
    gradClip: s.gradClip,
    gradAccumulation: s.gradAccumulation,
    onNonFinite,
  };
}
