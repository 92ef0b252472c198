import { backward, type Parameter } from '@tinyformer/autograd';
import { type Backend, type Tensor, tensor, tidy } from '@tinyformer/tensor';
import type { DecoderLM } from './decoder-lm.js';
import { AdamW, clipScale, gradNormSquared, type LrSchedule, learningRate } from './optim.js';

export interface TrainerOptions {
  schedule: LrSchedule;
  beta1?: number;
  beta2?: number;
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

export interface Batch {
  /** (B*T) token ids, row-major (B, T) */
  x: Int32Array;
  y: Int32Array;
  batchSize: number;
  contextLength: number;
}

export interface StepResult {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  skipped: boolean;
}

/** Where a non-finite value was found: a parameter's path, the flat index of the first bad element, its value. */
export interface NonFiniteSite {
  parameter: string;
  index: number;
  value: number;
}

export class NonFiniteError extends Error {
  constructor(
    readonly step: number,
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
  readonly optimizer: AdamW;
  readonly backend: Backend;
  step = 0;

  constructor(
    readonly model: DecoderLM,
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

  lrAt(step: number): number {
    return learningRate(step, this.opts.schedule);
  }

  /** One optimizer step; `nextBatch` is called once per micro-batch. */
  async trainStep(nextBatch: () => Batch, opts: TrainStepOptions = {}): Promise<StepResult> {
    const accum = this.opts.gradAccumulation ?? 1;
    const lr = this.lrAt(this.step);
    this.optimizer.lr = lr;
    let lossSum = 0;
    for (let i = 0; i < accum; i++) {
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
