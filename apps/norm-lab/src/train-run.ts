import { meanLoss, PRESETS, trainLoop } from '@tinyformer/charlm';
import { BatchSampler } from '@tinyformer/data';
import {
  DecoderLM,
  gradNorms,
  type LrSchedule,
  layerGradNorms,
  type ModelConfigInput,
  Trainer,
  type TrainStepOptions,
} from '@tinyformer/model';
import { Rng } from '@tinyformer/tensor';
import type { LabContext } from './context.js';
import { finiteOrNull, mean } from './stats.js';

/** One training run of the lab: a model, a recipe and what to record. */
export interface RunSpec {
  label: string;
  model: Omit<ModelConfigInput, 'vocabSize'>;
  batchSize: number;
  steps: number;
  schedule: LrSchedule;
  /** init and data-order seed (the sampler uses seed + 1, like charlm) */
  seed: number;
  /** validation loss every n steps (0: only at the end) */
  evalEvery?: number;
  /** batches per periodic validation */
  evalBatches?: number;
  /** batches for the final validation loss (0: none) */
  finalEvalBatches?: number;
  /** record per-layer gradient norms at these steps (0 = the first step, at init) */
  gradNormSteps?: readonly number[];
  /** stop after this many consecutive non-finite steps: the run has diverged and more steps only cost time */
  maxConsecutiveNonFinite?: number;
}

export interface LayerNorms {
  step: number;
  /** per block, in order */
  layers: { layer: number; norm: number | null }[];
  /** the embedding, final norm, LM head */
  other: { group: string; norm: number | null }[];
  /** the global gradient norm the Trainer clips */
  total: number | null;
}

export interface RunResult {
  label: string;
  stepsPlanned: number;
  stepsRun: number;
  /** training loss per step; null where it was NaN/Inf */
  losses: (number | null)[];
  /** gradient norm per step (before clipping); null where non-finite */
  gradNormCurve: (number | null)[];
  val: { step: number; loss: number | null }[];
  finalVal: number | null;
  initialLoss: number | null;
  /** mean finite loss over the last 10% of the steps run (at least 5) */
  tailLoss: number | null;
  nonFiniteSteps: number;
  firstNonFiniteStep: number | null;
  /** set when the run stopped early after too many consecutive non-finite steps */
  stoppedAt: number | null;
  diverged: boolean;
  divergedReason: string | null;
  gradNorms: LayerNorms[];
  seconds: number;
  tokensPerSec: number;
}

/**
 * The training recipe every lab run shares, taken from charlm's tiny preset so the lab studies what charlm trains:
 * AdamW betas (0.9, 0.99), weight decay 0.1 on matrices, global gradient clipping at 1.
 */
export const RECIPE = {
  beta1: PRESETS.tiny.beta1,
  beta2: PRESETS.tiny.beta2,
  weightDecay: PRESETS.tiny.weightDecay,
  gradClip: PRESETS.tiny.gradClip,
} as const;

/** A constant learning rate after `warmup` linear warmup steps (minLr = lr keeps the cosine flat). */
export function constantLr(lr: number, warmup: number, steps: number): LrSchedule {
  return { lr, warmup, decaySteps: Math.max(steps, warmup + 1), minLr: lr };
}

/**
 * Trains one model with the shared Trainer (skip policy for NaN/Inf, so a diverging run is recorded rather than
 * aborted) and returns its curves. Divergence: any non-finite loss or gradient, or a final (tail) loss no lower
 * than the loss at step 0. `hooks` see the model before the first step and after the last (for probes).
 */
export async function trainRun(
  ctx: LabContext,
  spec: RunSpec,
  hooks: { before?: (model: DecoderLM) => Promise<void>; after?: (model: DecoderLM) => Promise<void> } = {},
): Promise<RunResult> {
  const t0 = performance.now();
  const vocabSize = ctx.dataset.vocab.size;
  const model = new DecoderLM({ ...spec.model, vocabSize } as ModelConfigInput, { seed: spec.seed });
  const T = model.config.contextLength;
  const B = spec.batchSize;
  const trainer = new Trainer(model, { schedule: spec.schedule, ...RECIPE, onNonFinite: 'skip' });
  const sampler = new BatchSampler(ctx.dataset.train, B, T, new Rng(spec.seed + 1));
  const gradSteps = new Set(spec.gradNormSteps ?? []);
  const maxBad = spec.maxConsecutiveNonFinite ?? 10;
  const evalBatches = spec.evalBatches ?? 10;
  const losses: (number | null)[] = [];
  const gradNormCurve: (number | null)[] = [];
  const val: RunResult['val'] = [];
  const recorded: LayerNorms[] = [];
  let nonFiniteSteps = 0;
  let firstNonFiniteStep: number | null = null;
  let consecutive = 0;
  let stoppedAt: number | null = null;
  const progressEvery = Math.max(1, Math.ceil(spec.steps / 4));
  const validate = async () => finiteOrNull(await meanLoss(model, ctx.dataset.val, B, T, evalBatches));
  try {
    if (hooks.before) await hooks.before(model);
    await trainLoop({
      trainer,
      sampler,
      until: spec.steps,
      // step s (0-based, as gradNormSteps counts) is loop step s + 1
      stepOptions: (step): TrainStepOptions =>
        gradSteps.has(step - 1)
          ? {
              onGradients: async (m) => {
                recorded.push(toLayerNorms(step - 1, await gradNorms(m)));
              },
            }
          : {},
      afterStep: async ({ step, result: r }) => {
        const bad = r.skipped || !Number.isFinite(r.loss);
        losses.push(finiteOrNull(r.loss));
        gradNormCurve.push(finiteOrNull(r.gradNorm));
        if (bad) {
          nonFiniteSteps++;
          firstNonFiniteStep ??= step - 1;
          consecutive++;
        } else {
          consecutive = 0;
        }
        if (spec.evalEvery && step % spec.evalEvery === 0 && step < spec.steps)
          val.push({ step, loss: await validate() });
        if ((step % progressEvery === 0 || bad) && step < spec.steps && consecutive <= 1) {
          ctx.log(
            `    ${spec.label}: step ${step}/${spec.steps}, loss ${r.loss.toFixed(4)}${bad ? ' (non-finite step)' : ''}`,
          );
        }
        if (consecutive < maxBad) return false;
        stoppedAt = step;
        return true;
      },
    });
    const finalVal = spec.finalEvalBatches
      ? finiteOrNull(await meanLoss(model, ctx.dataset.val, B, T, spec.finalEvalBatches))
      : null;
    if (spec.finalEvalBatches) val.push({ step: losses.length, loss: finalVal });
    if (hooks.after) await hooks.after(model);
    const seconds = (performance.now() - t0) / 1000;
    const initialLoss = losses[0] ?? null;
    const tailN = Math.max(5, Math.ceil(losses.length / 10));
    const tail = losses.slice(-tailN).filter((x): x is number => x !== null);
    const tailLoss = tail.length > 0 ? mean(tail) : null;
    let divergedReason: string | null = null;
    if (nonFiniteSteps > 0) {
      divergedReason = `${nonFiniteSteps} non-finite step${nonFiniteSteps > 1 ? 's' : ''}, the first at step ${firstNonFiniteStep}`;
      if (stoppedAt !== null) divergedReason += `; stopped at step ${stoppedAt} after ${maxBad} in a row`;
    } else if (initialLoss === null || tailLoss === null || tailLoss >= initialLoss) {
      divergedReason = `final loss ${tailLoss?.toFixed(3)} is not below the initial loss ${initialLoss?.toFixed(3)}`;
    }
    return {
      label: spec.label,
      stepsPlanned: spec.steps,
      stepsRun: losses.length,
      losses,
      gradNormCurve,
      val,
      finalVal,
      initialLoss,
      tailLoss,
      nonFiniteSteps,
      firstNonFiniteStep,
      stoppedAt,
      diverged: divergedReason !== null,
      divergedReason,
      gradNorms: recorded,
      seconds,
      tokensPerSec: (losses.length * B * T) / seconds,
    };
  } finally {
    trainer.optimizer.dispose();
    for (const p of model.parameters()) p.dispose();
  }
}

function toLayerNorms(step: number, norms: Awaited<ReturnType<typeof gradNorms>>): LayerNorms {
  const groups = layerGradNorms(norms);
  return {
    step,
    layers: groups
      .filter((g) => g.layer !== null)
      .map((g) => ({ layer: g.layer!, norm: finiteOrNull(g.norm) }))
      .sort((a, b) => a.layer - b.layer),
    other: groups.filter((g) => g.layer === null).map((g) => ({ group: g.group, norm: finiteOrNull(g.norm) })),
    total: finiteOrNull(Math.hypot(...norms.map((n) => n.norm))),
  };
}
