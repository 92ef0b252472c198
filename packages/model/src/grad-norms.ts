import { type Module, noGrad } from '@tinyformer/autograd';
import { concat, sum, tidy } from '@tinyformer/tensor';

/** The L2 norm of one parameter's gradient. */
export interface ParamGradNorm {
  /** the parameter's full path, e.g. 'blocks.3.attn.wq.weight' */
  name: string;
  /** the L2 norm of its gradient (times opts.scale) */
  norm: number;
}

/** The L2 norm of the gradients of a group of parameters (one transformer block, the embedding, ...). */
export interface LayerGradNorm {
  /** 'blocks.3' for a block, else the top-level module or parameter name ('wte', 'finalNorm', 'lmHead') */
  group: string;
  /** the block index, or null for a group outside the blocks */
  layer: number | null;
  /** the L2 norm of the group's gradients */
  norm: number;
  /** how many parameters the group holds */
  params: number;
}

/** Options of gradNorms. */
export interface GradNormOptions {
  /**
   * Multiply every norm by this. The gradients accumulated over N micro-batches are a sum: pass 1/N for the norm of
   * the mean gradient, the one the optimizer steps with (before clipping).
   */
  scale?: number;
}

/**
 * The L2 norm of each parameter's current gradient (`.grad`), in model order; parameters without a gradient are
 * left out. Read it after backward and before the optimizer step (Trainer.trainStep's `onGradients` hook is that
 * moment). One reduction per parameter on the device and a single readback, so a GPU pays one sync, not one per
 * parameter. A gradient whose squares overflow float32 reads as Infinity; NaN stays NaN.
 *
 * @param model - The model (any module).
 * @param opts - A scale for every norm.
 * @returns One entry per parameter with a gradient.
 */
export async function gradNorms(model: Module, opts: GradNormOptions = {}): Promise<ParamGradNorm[]> {
  const named = model.namedParameters().filter(([, p]) => p.grad);
  if (named.length === 0) return [];
  const squares = noGrad(() =>
    tidy(() =>
      concat(
        named.map(([, p]) => sum(p.grad!.square()).reshape([1])),
        0,
      ),
    ),
  );
  const values = await squares.data();
  squares.dispose();
  const scale = Math.abs(opts.scale ?? 1);
  return named.map(([name], i) => ({ name, norm: Math.sqrt(values[i]!) * scale }));
}

const BLOCK = /^blocks\.(\d+)(\.|$)/;

/**
 * Combines per-parameter norms into one norm per layer: every parameter under `blocks.<i>.` is block i; anything
 * else is grouped by its first path component. Groups keep the order in which they first appear (model order).
 *
 * @param norms - Per-parameter norms from gradNorms.
 * @returns One entry per group.
 */
export function layerGradNorms(norms: readonly ParamGradNorm[]): LayerGradNorm[] {
  const groups = new Map<string, { layer: number | null; sumSq: number; params: number }>();
  for (const { name, norm } of norms) {
    const m = BLOCK.exec(name);
    const key = m ? `blocks.${m[1]}` : name.split('.')[0]!;
    const g = groups.get(key) ?? { layer: m ? Number(m[1]) : null, sumSq: 0, params: 0 };
    g.sumSq += norm * norm;
    g.params++;
    groups.set(key, g);
  }
  return [...groups].map(([group, g]) => ({ group, layer: g.layer, norm: Math.sqrt(g.sumSq), params: g.params }));
}
