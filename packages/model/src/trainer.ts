import { backward, type Parameter } from '@tinyformer/autograd';
import { type Backend, type Tensor, tensor, tidy } from '@tinyformer/tensor';
import type { DecoderLM } from './decoder-lm.js';
import { turnEventLoop } from './event-loop.js';
import { AdamW, clipScale, gradNormSquared, type LrSchedule, learningRate } from './optim.js';

/** How a Trainer optimizes: the learning-rate schedule, AdamW's settings, clipping, accumulation. */
export interface TrainerOptions {
  /** the learning-rate schedule (peak lr, warmup, cosine decay) */
  schedule: LrSchedule;
  /** AdamW's beta1; default 0.9 */
  beta1?: number;
  /** AdamW's beta2; default 0.99 */
  beta2?: number;
  /** decoupled weight decay of the matrices (norms, biases and embeddings excluded, see decayGroups); default 0.1 */
  weightDecay?: number;
  /** clip the global gradient norm to this (0 = off); default 1 */
  gradClip?: number;
  /** micro-batches per optimizer step; default 1 */
  gradAccumulation?: number;
  /** what to do when the loss or a gradient is NaN/Inf: throw (default) or skip the step */
  onNonFinite?: 'throw' | 'skip';
}

/** Per-call options of Trainer.trainStep. */
export interface TrainStepOptions {
  /**
   * Called once per step after backward (all micro-batches) and before the non-finite check, clipping and the
   * update, so each parameter's `.grad` is still there to inspect (see gradNorms). The gradients are the sum over
   * the step's micro-batches, unclipped; a step about to be skipped or to throw for a non-finite value is shown too.
   * Costs nothing when not given.
   */
  onGradients?: (model: DecoderLM, info: { step: number; gradAccumulation: number }) => void | Promise<void>;
}

/** One micro-batch of token ids: inputs x and next-token targets y, both (batchSize, contextLength). */
export interface Batch {
  /** (B*T) token ids, row-major (B, T) */
  x: Int32Array;
  /** (B*T) target ids: x shifted by one */
  y: Int32Array;
  /** B, rows */
  batchSize: number;
  /** T, tokens per row */
  contextLength: number;
}

/** What one Trainer.trainStep did. */
export interface StepResult {
  /** the step's index (0-based) */
  step: number;
  /** mean loss over the step's micro-batches */
  loss: number;
  /** global gradient norm before clipping (of the mean over micro-batches) */
  gradNorm: number;
  /** the learning rate used */
  lr: number;
  /** true when a non-finite value skipped the update (onNonFinite: 'skip') */
  skipped: boolean;
}

/** Where a non-finite value was found: a parameter's path, the flat index of the first bad element, its value. */
export interface NonFiniteSite {
  /** the parameter's dotted path */
  parameter: string;
  /** flat index of the first bad element */
  index: number;
  /** its value (NaN, Infinity or -Infinity) */
  value: number;
}

/** Thrown by Trainer.trainStep when the loss or a gradient is NaN or Inf (onNonFinite: 'throw'), before the update. */
export class NonFiniteError extends Error {
  /**
   * @param step - The step that failed.
   * @param what - What was not finite.
   * @param gradient - The first parameter with a non-finite gradient, if any.
   * @param weight - The first parameter with non-finite values, if any.
   */
  constructor(
    /** the step that failed */
    readonly step: number,
    /** what was not finite (the loss, a parameter's gradient, the gradient norm) */
    readonly what: string,
    /** the first parameter (model order) whose gradient holds a NaN/Inf, if any */
    readonly gradient: NonFiniteSite | null = null,
    /** the first parameter (model order) whose own values hold a NaN/Inf, if any */
    readonly weight: NonFiniteSite | null = null,
  ) {
    const extra =
      (gradient && !what.startsWith('the gradient of')
        ? `; first parameter with a non-finite gradient: ${describeSite(gradient)}`
        : '') + (weight ? `; first parameter whose values are non-finite: ${describeSite(weight)}` : '');
    super(
      `step ${step}: ${what} is not finite (NaN or Inf)${extra}; stopping before the update so the weights stay intact`,
    );
    this.name = 'NonFiniteError';
  }
}

function describeSite(s: NonFiniteSite): string {
  return `'${s.parameter}' (element ${s.index} = ${s.value})`;
}

/**
 * The training step, shared by charlm and the norm lab: forward, backward (accumulated over micro-batches),
 * a host-side non-finite check of the loss and the gradient norm (device arithmetic may swallow NaN), clipping,
 * one AdamW update. Every intermediate is released inside tidy(), so device memory stays flat.
 */
export class Trainer {
  /** the optimizer (two groups: with and without weight decay) */
  readonly optimizer: AdamW;
  /** the backend the model's weights live on */
  readonly backend: Backend;
  /** the next step's index; increments after every trainStep (skipped ones too) */
  step = 0;

  /**
   * @param model - The model to train.
   * @param opts - Schedule, AdamW settings, clipping, accumulation, non-finite policy.
   *
   * @example
   * ```ts
   * const model = new DecoderLM({ vocabSize: vocab.size, contextLength: 64, dModel: 64, nLayers: 2, nHeads: 4 });
   * const trainer = new Trainer(model, { schedule: { lr: 1e-3, warmup: 100, decaySteps: 2000, minLr: 1e-4 } });
   * const sampler = new BatchSampler(dataset.train, 16, 64, new Rng(1));
   * for (let i = 0; i < 2000; i++) {
   *   const { loss } = await trainer.trainStep(() => sampler.next());
   * }
   * ```
   */
  constructor(
    /** the model being trained */
    readonly model: DecoderLM,
    /** the options given */
    readonly opts: TrainerOptions,
  ) {
    const { decay, noDecay } = model.decayGroups();
    const wd = opts.weightDecay ?? 0.1;
    this.optimizer = new AdamW(
      [
        { params: decay, weightDecay: wd },
        { params: noDecay, weightDecay: 0 },
      ],
      { lr: opts.schedule.lr, beta1: opts.beta1 ?? 0.9, beta2: opts.beta2 ?? 0.99 },
    );
    this.backend = model.wte.weight.backend;
  }

  /**
   * The learning rate of a step under the schedule.
   *
   * @param step - A step index.
   * @returns Its learning rate.
   */
  lrAt(step: number): number {
    return learningRate(step, this.opts.schedule);
  }

  /**
   * One optimizer step; `nextBatch` is called once per micro-batch.
   *
   * @param nextBatch - Returns the next micro-batch (called gradAccumulation times).
   * @param opts - A hook that sees the gradients before the update.
   * @returns The step's loss (mean over micro-batches), gradient norm, learning rate and whether it was skipped.
   * @throws {@link NonFiniteError} when the loss or a gradient is NaN/Inf and onNonFinite is 'throw' (the default);
   *   the weights are left as they were.
   */
  async trainStep(nextBatch: () => Batch, opts: TrainStepOptions = {}): Promise<StepResult> {
    const accum = this.opts.gradAccumulation ?? 1;
    const lr = this.lrAt(this.step);
    this.optimizer.lr = lr;
    let lossSum = 0;
    for (let i = 0; i < accum; i++) {
      // signals and messages are seen between micro-batches, not only between steps
      await turnEventLoop();
      const b = nextBatch();
      const loss = tidy(() => {
        const x = tensor(b.x, [b.batchSize, b.contextLength], { backend: this.backend, dtype: 'int32' });
        const y = tensor(b.y, [b.batchSize, b.contextLength], { backend: this.backend, dtype: 'int32' });
        const l = this.model.loss(x, y);
        backward(l);
        return l;
      });
      lossSum += await loss.item();
      loss.dispose();
    }
    const loss = lossSum / accum;
    const gn2 = gradNormSquared(this.optimizer.params());
    const gradNorm = Math.sqrt(await gn2.item()) / accum;
    gn2.dispose();
    const step = this.step;
    if (opts.onGradients) {
      try {
        await opts.onGradients(this.model, { step, gradAccumulation: accum });
      } catch (e) {
        // a failed hook must not leave this step's gradients to be summed into the next step's
        this.optimizer.zeroGrad();
        throw e;
      }
    }
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      // only on this (rare) path: read the gradients and the weights back to say where the NaN/Inf is
      const grad = await this.firstNonFinite((p) => p.grad);
      const weight = await this.firstNonFinite((p) => p);
      const what = !Number.isFinite(loss)
        ? `the loss (${loss})`
        : grad
          ? `the gradient of parameter ${describeSite(grad)}`
          : 'the gradient norm';
      this.optimizer.zeroGrad();
      if ((this.opts.onNonFinite ?? 'throw') === 'throw') throw new NonFiniteError(step, what, grad, weight);
      this.step++;
      return { step, loss, gradNorm, lr, skipped: true };
    }
    this.optimizer.update(clipScale(gradNorm, this.opts.gradClip ?? 1) / accum);
    this.optimizer.zeroGrad();
    this.step++;
    return { step, loss, gradNorm, lr, skipped: false };
  }

  /** The first parameter (in model order) whose gradient (or, with `pick = p => p`, value) has a NaN or Inf. */
  private async firstNonFinite(pick: (p: Parameter) => Tensor | null): Promise<NonFiniteSite | null> {
    for (const [name, p] of this.model.namedParameters()) {
      const t = pick(p);
      if (!t) continue;
      const g = await t.data();
      for (let i = 0; i < g.length; i++) {
        if (!Number.isFinite(g[i]!)) return { parameter: name, index: i, value: g[i]! };
      }
    }
    return null;
  }
}
