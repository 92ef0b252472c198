import { defineOp, formatShape, type Op, type OpCase, sum, type Tensor, TensorError } from '@tinyformer/tensor';

/**
 * The norm ops, defined once each in the registry: RMSNorm and LayerNorm forward (saving the per-row statistics)
 * and their backward ops (dx, dg, db in one pass where a backend has the kernel: llm.c's layernorm_backward). The
 * composites below run on a backend without kernels; the CPU kernels are in cpu/cpu-kernels.ts, the GPU ones in
 * @tinyformer/backend-gpu.
 */

/** rmsnorm's attributes: eps, and whether a scale g follows x in the inputs */
export interface RmsNormAttrs {
  /** added under the square root */
  eps: number;
  /** whether a scale g follows x in the inputs */
  hasScale: boolean;
}

/** layernorm's: eps, and whether g (then b) follow x in the inputs */
export interface LayerNormAttrs extends RmsNormAttrs {
  /** whether a shift b follows (x and g) in the inputs */
  hasShift: boolean;
}

/** What a norm kernel needs to know of its input: rows of `dim` features. */
export interface NormRows {
  /** number of rows (the product of the leading axes) */
  rows: number;
  /** features per row (the last axis) */
  dim: number;
}

/**
 * Checks a norm's input and parameters and returns its row layout.
 *
 * @param op - The op's name, for errors.
 * @param x - The input (..., D).
 * @param g - The scale, or null.
 * @param b - The shift, or null.
 * @returns Rows and features per row.
 * @throws {@link @tinyformer/tensor!TensorError} when x has no axis or an empty last axis, or g or b is not [D].
 */
export function normRows(op: string, x: Tensor, g: Tensor | null, b: Tensor | null): NormRows {
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

/** [..., D] -> [..., 1]: the shape of one statistic per row */
export const statShape = (x: Tensor): number[] => [...x.shape.slice(0, -1), 1];

/** Sums a [..., D] tensor over every axis but the last -> [D]. */
function columnSum(t: Tensor): Tensor {
  return sum(t.reshape([-1, t.shape[t.rank - 1]!]), 0);
}

/**
 * The inputs of a norm op by role (x, then g and b where the attributes say so).
 *
 * @param inputs - The op's inputs.
 * @param attrs - Whether g and b are present.
 * @returns x, g and b (null where absent).
 */
export function normInputs(
  inputs: readonly Tensor[],
  attrs: { hasScale: boolean; hasShift?: boolean },
): { x: Tensor; g: Tensor | null; b: Tensor | null } {
  const x = inputs[0]!;
  const g = attrs.hasScale ? inputs[1]! : null;
  const b = attrs.hasShift ? inputs[attrs.hasScale ? 2 : 1]! : null;
  return { x, g, b };
}

const dimOf = (x: Tensor) => x.shape[x.rank - 1]!;

/** RMSNorm's backward: inputs [dy, x, g?, rstd] -> [dx, dg?] */
export const rmsnormBackwardOp: Op<RmsNormAttrs> = defineOp<RmsNormAttrs>({
  name: 'rmsnormBackward',
  shapes(inputs, { hasScale }) {
    const [dy, x] = inputs as [Tensor, Tensor];
    normRows('rmsnormBackward', x, hasScale ? inputs[2]! : null, null);
    if (dy.size !== x.size)
      throw new TensorError('rmsnormBackward', `dy ${dy.describe()} must match x ${x.describe()}`);
    return { outputs: hasScale ? [x.shape, [dimOf(x)]] : [x.shape] };
  },
  composite(inputs, { hasScale }) {
    const [dy, x] = inputs as [Tensor, Tensor];
    const g = hasScale ? inputs[2]! : null;
    const rstd = inputs[hasScale ? 3 : 2]!;
    const xhat = x.mul(rstd);
    const dxhat = g ? dy.mul(g) : dy;
    const c = dxhat.mul(xhat).mean(-1, { keepDims: true });
    const dx = dxhat.sub(xhat.mul(c)).mul(rstd);
    return { outputs: g ? [dx, columnSum(dy.mul(xhat))] : [dx] };
  },
  backward: 'none',
});

/** RMSNorm over the last axis: inputs [x, g?] -> y, saving rstd per row. */
export const rmsnormOp: Op<RmsNormAttrs> = defineOp<RmsNormAttrs>({
  name: 'rmsnorm',
  shapes(inputs, attrs) {
    const { x, g } = normInputs(inputs, attrs);
    normRows('rmsnorm', x, g, null);
    return { outputs: [x.shape], saved: [statShape(x)] };
  },
  composite(inputs, attrs) {
    const { x, g } = normInputs(inputs, attrs);
    const rstd = x.square().mean(-1, { keepDims: true }).add(attrs.eps).rsqrt();
    const y = x.mul(rstd);
    return { outputs: [g ? y.mul(g) : y], saved: [rstd] };
  },
  backward([dy], { inputs, attrs, saved }) {
    if (!dy) return inputs.map(() => null);
    const { x, g } = normInputs(inputs, attrs);
    return rmsnormBackwardOp.apply(g ? [dy, x, g, saved[0]!] : [dy, x, saved[0]!], attrs);
  },
  cases: [
    { inputs: [{ shape: [4, 12] }, { shape: [12] }], attrs: { eps: 1e-5, hasScale: true } },
    { inputs: [{ shape: [2, 3, 8], range: [-3, 3] }], attrs: { eps: 1e-3, hasScale: false } },
    { inputs: [{ shape: [5, 33] }, { shape: [33] }], attrs: { eps: 1e-5, hasScale: true } },
  ],
});

/** LayerNorm's backward: inputs [dy, x, g?, mean, rstd] -> [dx, dg?, db?] */
export const layernormBackwardOp: Op<LayerNormAttrs> = defineOp<LayerNormAttrs>({
  name: 'layernormBackward',
  shapes(inputs, { hasScale, hasShift }) {
    const [dy, x] = inputs as [Tensor, Tensor];
    normRows('layernormBackward', x, hasScale ? inputs[2]! : null, null);
    if (dy.size !== x.size) {
      throw new TensorError('layernormBackward', `dy ${dy.describe()} must match x ${x.describe()}`);
    }
    const outputs = [x.shape];
    if (hasScale) outputs.push([dimOf(x)]);
    if (hasShift) outputs.push([dimOf(x)]);
    return { outputs };
  },
  composite(inputs, { hasScale, hasShift }) {
    const [dy, x] = inputs as [Tensor, Tensor];
    const g = hasScale ? inputs[2]! : null;
    const [mean, rstd] = inputs.slice(hasScale ? 3 : 2) as [Tensor, Tensor];
    const xhat = x.sub(mean).mul(rstd);
    const dxhat = g ? dy.mul(g) : dy;
    const m1 = dxhat.mean(-1, { keepDims: true });
    const m2 = dxhat.mul(xhat).mean(-1, { keepDims: true });
    const outputs = [dxhat.sub(m1).sub(xhat.mul(m2)).mul(rstd)];
    if (g) outputs.push(columnSum(dy.mul(xhat)));
    if (hasShift) outputs.push(columnSum(dy));
    return { outputs };
  },
  backward: 'none',
});

/** LayerNorm over the last axis: inputs [x, g?, b?] -> y, saving mean and rstd per row. */
export const layernormOp: Op<LayerNormAttrs> = defineOp<LayerNormAttrs>({
  name: 'layernorm',
  shapes(inputs, attrs) {
    const { x, g, b } = normInputs(inputs, attrs);
    normRows('layernorm', x, g, b);
    return { outputs: [x.shape], saved: [statShape(x), statShape(x)] };
  },
  composite(inputs, attrs) {
    const { x, g, b } = normInputs(inputs, attrs);
    const mean = x.mean(-1, { keepDims: true });
    const xc = x.sub(mean);
    const rstd = xc.square().mean(-1, { keepDims: true }).add(attrs.eps).rsqrt();
    let y = xc.mul(rstd);
    if (g) y = y.mul(g);
    if (b) y = y.add(b);
    return { outputs: [y], saved: [mean, rstd] };
  },
  backward([dy], { inputs, attrs, saved }) {
    if (!dy) return inputs.map(() => null);
    const { x, g } = normInputs(inputs, attrs);
    const [mean, rstd] = saved as [Tensor, Tensor];
    const grads = layernormBackwardOp.apply(g ? [dy, x, g, mean, rstd] : [dy, x, mean, rstd], attrs);
    return grads;
  },
  cases: [
    {
      inputs: [{ shape: [4, 12] }, { shape: [12] }, { shape: [12] }],
      attrs: { eps: 1e-5, hasScale: true, hasShift: true },
    },
    {
      inputs: [{ shape: [3, 9], range: [-2, 5] }, { shape: [9] }],
      attrs: { eps: 1e-5, hasScale: true, hasShift: false },
    },
    { inputs: [{ shape: [2, 2, 7] }], attrs: { eps: 1e-3, hasScale: false, hasShift: false } },
  ] satisfies OpCase<LayerNormAttrs>[],
});

/**
 * Fused RMSNorm over the last axis: y = x / sqrt(mean(x^2) + eps) * g.
 *
 * @param x - (..., D) input.
 * @param g - The scale [D], or null.
 * @param eps - Added under the square root.
 * @returns (..., D) output.
 * @throws {@link @tinyformer/tensor!TensorError} when x has no features or g is not [D].
 */
export function rmsNorm(x: Tensor, g: Tensor | null, eps: number): Tensor {
  return rmsnormOp.apply(g ? [x, g] : [x], { eps, hasScale: g !== null })[0]!;
}

/**
 * Fused LayerNorm over the last axis: y = (x - mean) / sqrt(var + eps) * g + b (biased variance, like PyTorch).
 *
 * @param x - (..., D) input.
 * @param g - The scale [D], or null.
 * @param b - The shift [D], or null.
 * @param eps - Added under the square root.
 * @returns (..., D) output.
 * @throws {@link @tinyformer/tensor!TensorError} when x has no features or g or b is not [D].
 */
export function layerNorm(x: Tensor, g: Tensor | null, b: Tensor | null, eps: number): Tensor {
  const inputs = [x];
  if (g) inputs.push(g);
  if (b) inputs.push(b);
  return layernormOp.apply(inputs, { eps, hasScale: g !== null, hasShift: b !== null })[0]!;
}
