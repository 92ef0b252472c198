import { defineOp } from '@tinyformer/autograd';
import { formatShape, sum, type Tensor, TensorError, wrap } from '@tinyformer/tensor';
import { layerNormComposite, rmsNormComposite } from './composite.js';

/**
 * The fused norm ops: one differentiable unit each. Forward saves the per-row statistics (rstd, and mean for
 * LayerNorm); backward computes dx, dg, db in one pass (llm.c layernorm_backward). A backend without the fused
 * kernels gets the same math from primitive ops, so the op works everywhere.
 */

function checkInputs(op: string, x: Tensor, g: Tensor | null, b: Tensor | null): { rows: number; dim: number } {
  if (x.rank < 1) throw new TensorError(op, `input must have a feature axis, got ${formatShape(x.shape)}`);
  const dim = x.shape[x.rank - 1]!;
  for (const [what, p] of [
    ['scale', g],
    ['shift', b],
  ] as const) {
    if (p && (p.rank !== 1 || p.shape[0] !== dim)) {
      throw new TensorError(op, `${what} ${formatShape(p.shape)} must be [${dim}] for input ${formatShape(x.shape)}`);
    }
  }
  if (dim === 0) throw new TensorError(op, `input ${formatShape(x.shape)} has an empty feature axis`);
  return { rows: x.size / dim, dim };
}

interface NormAttrs {
  eps: number;
  hasScale: boolean;
  hasShift: boolean;
}

/** Sums a [..., D] tensor over every axis but the last -> [D]. */
function columnSum(t: Tensor): Tensor {
  return sum(t.reshape([-1, t.shape[t.rank - 1]!]), 0);
}

const rmsnormOp = defineOp<NormAttrs>({
  name: 'rmsnorm',
  forward(inputs, { eps, hasScale }) {
    const x = inputs[0]!;
    const g = hasScale ? inputs[1]! : null;
    const { rows, dim } = checkInputs('rmsnorm', x, g, null);
    const k = x.backend.fused.rmsnormForward;
    if (k) {
      const { y, rstd } = k(x.storage, g?.storage ?? null, { rows, dim, eps });
      return { output: wrap(x.backend, y, x.shape), saved: [wrap(x.backend, rstd, [...x.shape.slice(0, -1), 1])] };
    }
    const rstd = x.square().mean(-1, { keepDims: true }).add(eps).rsqrt();
    let y = x.mul(rstd);
    if (g) y = y.mul(g);
    return { output: y, saved: [rstd] };
  },
  backward(dy, { inputs, attrs, saved }) {
    const x = inputs[0]!;
    const g = attrs.hasScale ? inputs[1]! : null;
    const rstd = saved[0]!;
    const dim = x.shape[x.rank - 1]!;
    const k = x.backend.fused.rmsnormBackward;
    if (k) {
      const r = k(dy.storage, x.storage, g?.storage ?? null, rstd.storage, x.size / dim, dim);
      return [wrap(x.backend, r.dx, x.shape), r.dg ? wrap(x.backend, r.dg, [dim]) : null];
    }
    const xhat = x.mul(rstd);
    const dxhat = g ? dy.mul(g) : dy;
    const c = dxhat.mul(xhat).mean(-1, { keepDims: true });
    const dx = dxhat.sub(xhat.mul(c)).mul(rstd);
    return [dx, g ? columnSum(dy.mul(xhat)) : null];
  },
});

const layernormOp = defineOp<NormAttrs>({
  name: 'layernorm',
  forward(inputs, { eps, hasScale, hasShift }) {
    const x = inputs[0]!;
    const g = hasScale ? inputs[1]! : null;
    const b = hasShift ? inputs[hasScale ? 2 : 1]! : null;
    const { rows, dim } = checkInputs('layernorm', x, g, b);
    const statShape = [...x.shape.slice(0, -1), 1];
    const k = x.backend.fused.layernormForward;
    if (k) {
      const r = k(x.storage, g?.storage ?? null, b?.storage ?? null, { rows, dim, eps });
      return {
        output: wrap(x.backend, r.y, x.shape),
        saved: [wrap(x.backend, r.mean, statShape), wrap(x.backend, r.rstd, statShape)],
      };
    }
    const mean = x.mean(-1, { keepDims: true });
    const xc = x.sub(mean);
    const rstd = xc.square().mean(-1, { keepDims: true }).add(eps).rsqrt();
    let y = xc.mul(rstd);
    if (g) y = y.mul(g);
    if (b) y = y.add(b);
    return { output: y, saved: [mean, rstd] };
  },
  backward(dy, { inputs, attrs, saved }) {
    const x = inputs[0]!;
    const g = attrs.hasScale ? inputs[1]! : null;
    const [mean, rstd] = saved as [Tensor, Tensor];
    const dim = x.shape[x.rank - 1]!;
    const k = x.backend.fused.layernormBackward;
    let dx: Tensor;
    let dg: Tensor | null = null;
    let db: Tensor | null = null;
    if (k) {
      const r = k(
        dy.storage,
        x.storage,
        g?.storage ?? null,
        mean.storage,
        rstd.storage,
        x.size / dim,
        dim,
        attrs.hasShift,
      );
      dx = wrap(x.backend, r.dx, x.shape);
      dg = r.dg ? wrap(x.backend, r.dg, [dim]) : null;
      db = r.db ? wrap(x.backend, r.db, [dim]) : null;
    } else {
      const xhat = x.sub(mean).mul(rstd);
      const dxhat = g ? dy.mul(g) : dy;
      const m1 = dxhat.mean(-1, { keepDims: true });
      const m2 = dxhat.mul(xhat).mean(-1, { keepDims: true });
      dx = dxhat.sub(m1).sub(xhat.mul(m2)).mul(rstd);
      if (g) dg = columnSum(dy.mul(xhat));
      if (attrs.hasShift) db = columnSum(dy);
    }
    const grads: (Tensor | null)[] = [dx];
    if (attrs.hasScale) grads.push(dg);
    if (attrs.hasShift) grads.push(db);
    return grads;
  },
});

/** Fused RMSNorm over the last axis: y = x / sqrt(mean(x^2) + eps) * g. */
export function rmsNorm(x: Tensor, g: Tensor | null, eps: number): Tensor {
  return rmsnormOp(g ? [x, g] : [x], { eps, hasScale: g !== null, hasShift: false });
}

/** Fused LayerNorm over the last axis: y = (x - mean) / sqrt(var + eps) * g + b (biased variance, like PyTorch). */
export function layerNorm(x: Tensor, g: Tensor | null, b: Tensor | null, eps: number): Tensor {
  const inputs = [x];
  if (g) inputs.push(g);
  if (b) inputs.push(b);
  return layernormOp(inputs, { eps, hasScale: g !== null, hasShift: b !== null });
}

export { layerNormComposite, rmsNormComposite };
