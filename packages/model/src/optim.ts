import { noGrad, type Parameter } from '@tinyformer/autograd';
import { add, full, sum, type Tensor, TensorError, tidy } from '@tinyformer/tensor';

export interface AdamWOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export interface ParamGroup {
  params: Parameter[];
  weightDecay: number;
}

/** Optimizer state for checkpoints: the step and each parameter's moments by name. */
export interface AdamWState {
  step: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

/**
 * AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay, applied only to the groups that ask for it
 * (by convention: matrices decay; norm gains and biases do not). The update runs as one backend kernel per
 * parameter, in place.
 */
export class AdamW {
  readonly groups: ParamGroup[];
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  step = 0;
  private readonly m = new Map<Parameter, Tensor>();
  private readonly v = new Map<Parameter, Tensor>();

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

  params(): Parameter[] {
    return this.groups.flatMap((g) => g.params);
  }

  /**
   * One update from the parameters' accumulated .grad, scaled by gradScale first (clipping and averaging over
   * accumulation steps fold into it). Parameters without a gradient are skipped.
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

  zeroGrad(): void {
    for (const p of this.params()) p.zeroGrad();
  }

  async getState(): Promise<AdamWState> {
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    for (const p of this.params()) {
      m[p.name!] = await this.m.get(p)!.data();
      v[p.name!] = await this.v.get(p)!.data();
    }
    return { step: this.step, m, v };
  }

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

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/**
 * The global L2 norm of all gradients, as a 1-element device tensor (read it back once on the host: the
 * non-finite check happens there, because GPU arithmetic may swallow NaN).
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

/** The scale that clips a gradient of norm `norm` to `maxNorm` (1 when already within). */
export function clipScale(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) return 1;
  return norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}

export interface LrSchedule {
  /** peak learning rate */
  lr: number;
  warmup: number;
  /** the step at which the cosine reaches minLr */
  decaySteps: number;
  minLr: number;
}

/** Linear warmup from 0 to lr over `warmup` steps, then cosine decay to minLr at decaySteps (nanoGPT's get_lr). */
export function learningRate(step: number, s: LrSchedule): number {
  if (step < s.warmup) return (s.lr * (step + 1)) / (s.warmup + 1);
  if (step >= s.decaySteps) return s.minLr;
  const ratio = (step - s.warmup) / Math.max(1, s.decaySteps - s.warmup);
  return s.minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (s.lr - s.minLr);
}
