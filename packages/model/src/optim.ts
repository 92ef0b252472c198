import { noGrad, type Parameter } from '@tinyformer/autograd';
import { add, full, sum, type Tensor, TensorError, tidy } from '@tinyformer/tensor';

/** AdamW's hyperparameters. */
export interface AdamWOptions {
  /** learning rate (> 0); default 1e-3 */
  lr?: number;
  /** first-moment decay in [0, 1); default 0.9 */
  beta1?: number;
  /** second-moment decay in [0, 1); default 0.999 */
  beta2?: number;
  /** added to the denominator (> 0); default 1e-8 */
  eps?: number;
  /** not read by AdamW: weight decay is set per ParamGroup */
  weightDecay?: number;
}

/** Parameters that share a weight decay. */
export interface ParamGroup {
  /** the group's parameters */
  params: Parameter[];
  /** decoupled weight decay (0 = none) */
  weightDecay: number;
}

/** Optimizer state for checkpoints: the step and each parameter's moments by name. */
export interface AdamWState {
  /** the number of updates so far */
  step: number;
  /** first moments by parameter name */
  m: Record<string, Float32Array>;
  /** second moments by parameter name */
  v: Record<string, Float32Array>;
}

/**
 * AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay, applied only to the groups that ask for it
 * (by convention: matrices decay; norm gains and biases do not). The update runs as one backend kernel per
 * parameter, in place.
 */
export class AdamW {
  /** the parameter groups */
  readonly groups: ParamGroup[];
  /** the learning rate of the next update (the Trainer sets it each step) */
  lr: number;
  /** first-moment decay */
  readonly beta1: number;
  /** second-moment decay */
  readonly beta2: number;
  /** added to the denominator */
  readonly eps: number;
  /** the number of updates so far */
  step = 0;
  private readonly m = new Map<Parameter, Tensor>();
  private readonly v = new Map<Parameter, Tensor>();

  /**
   * @param groups - The parameters, grouped by weight decay.
   * @param opts - lr, betas, eps.
   * @throws {@link @tinyformer/tensor!TensorError} when lr or eps is not > 0, or a beta is not in [0, 1).
   */
  constructor(groups: ParamGroup[], opts: AdamWOptions = {}) {
    this.groups = groups;
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    for (const [k, v] of Object.entries({ lr: this.lr, eps: this.eps })) {
      if (!(v > 0)) throw new TensorError('AdamW', `${k} must be > 0, got ${v}`);
    }
    for (const [k, v] of Object.entries({ beta1: this.beta1, beta2: this.beta2 })) {
      if (!(v >= 0 && v < 1)) throw new TensorError('AdamW', `${k} must be in [0, 1), got ${v}`);
    }
    for (const g of groups) {
      for (const p of g.params) {
        this.m.set(p, full(p.shape, 0, { backend: p.backend }).keep());
        this.v.set(p, full(p.shape, 0, { backend: p.backend }).keep());
      }
    }
  }

  /**
   * Every parameter of every group.
   *
   * @returns The parameters, group by group.
   */
  params(): Parameter[] {
    return this.groups.flatMap((g) => g.params);
  }

  /**
   * One update from the parameters' accumulated .grad, scaled by gradScale first (clipping and averaging over
   * accumulation steps fold into it). Parameters without a gradient are skipped.
   *
   * @param gradScale - Multiplies every gradient before the update (default 1).
   */
  update(gradScale = 1): void {
    this.step++;
    for (const g of this.groups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        p.backend.adamwUpdate(p.storage, p.grad.storage, this.m.get(p)!.storage, this.v.get(p)!.storage, p.size, {
          lr: this.lr,
          beta1: this.beta1,
          beta2: this.beta2,
          eps: this.eps,
          weightDecay: g.weightDecay,
          step: this.step,
          gradScale,
        });
      }
    }
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params()) p.zeroGrad();
  }

  /**
   * The step and the moments, read back (for checkpoints).
   *
   * @returns The state, by parameter name.
   */
  async getState(): Promise<AdamWState> {
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    for (const p of this.params()) {
      m[p.name!] = await this.m.get(p)!.data();
      v[p.name!] = await this.v.get(p)!.data();
    }
    return { step: this.step, m, v };
  }

  /**
   * Restores the step and the moments saved by getState.
   *
   * @param state - The saved state.
   * @throws {@link @tinyformer/tensor!TensorError} when a parameter's moments are missing or of the wrong size.
   */
  loadState(state: AdamWState): void {
    for (const p of this.params()) {
      const name = p.name!;
      const sm = state.m[name];
      const sv = state.v[name];
      if (!sm || !sv || sm.length !== p.size || sv.length !== p.size) {
        throw new TensorError('AdamW.loadState', `optimizer state for '${name}' is missing or has the wrong size`);
      }
      this.m.get(p)!.replaceStorage(p.backend.upload(sm));
      this.v.get(p)!.replaceStorage(p.backend.upload(sv));
    }
    this.step = state.step;
  }

  /** Frees the moment buffers. */
  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/**
 * The global L2 norm of all gradients, as a 1-element device tensor (read it back once on the host: the
 * non-finite check happens there, because GPU arithmetic may swallow NaN).
 *
 * @param params - The parameters; those without a gradient are skipped.
 * @returns A one-element tensor: the sum of the squared gradients (the square of the norm).
 */
export function gradNormSquared(params: readonly Parameter[]): Tensor {
  return noGrad(() =>
    tidy(() => {
      let total: Tensor | null = null;
      for (const p of params) {
        if (!p.grad) continue;
        const s = sum(p.grad.square());
        total = total ? add(total, s) : s;
      }
      return total ?? full([], 0);
    }),
  );
}

/**
 * The scale that clips a gradient of norm `norm` to `maxNorm` (1 when already within).
 *
 * @param norm - The gradient's norm.
 * @param maxNorm - The clipping threshold (<= 0: no clipping).
 * @returns maxNorm / (norm + 1e-6) when norm > maxNorm, else 1.
 */
export function clipScale(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) return 1;
  return norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}

/** The learning-rate schedule: linear warmup, then cosine decay to minLr. */
export interface LrSchedule {
  /** peak learning rate */
  lr: number;
  /** warmup steps */
  warmup: number;
  /** the step at which the cosine reaches minLr */
  decaySteps: number;
  /** the learning rate after decaySteps */
  minLr: number;
}

/**
 * Linear warmup from 0 to lr over `warmup` steps, then cosine decay to minLr at decaySteps (nanoGPT's get_lr).
 *
 * @param step - The step index.
 * @param s - The schedule.
 * @returns The learning rate at that step.
 */
export function learningRate(step: number, s: LrSchedule): number {
  if (step < s.warmup) return (s.lr * (step + 1)) / (s.warmup + 1);
  if (step >= s.decaySteps) return s.minLr;
  const ratio = (step - s.warmup) / Math.max(1, s.decaySteps - s.warmup);
  return s.minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (s.lr - s.minLr);
}
