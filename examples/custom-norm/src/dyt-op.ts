import { normRows } from '@tinyformer/norm';
import { defineOp, formatShape, type Op, sum, type Tensor, TensorError } from '@tinyformer/tensor';

/**
 * Dynamic Tanh (Zhu et al. 2025, "Transformers without Normalization"): y = g * tanh(alpha * x) + b, elementwise,
 * with one learnable scalar alpha. Defined once here, from outside the core packages, with the same registry calls
 * @tinyformer/norm uses for RMSNorm and LayerNorm: output shapes, a composite of primitives (so it runs on every
 * backend), its backward rule (an op of its own, with a fused CPU kernel too), and conformance cases.
 */

/** affine: a per-feature scale g and shift b follow alpha in the inputs */
export interface DytAttrs {
  affine: boolean;
}

/** The inputs by role: [x, alpha] or [x, alpha, g, b]. */
export function dytInputs(inputs: readonly Tensor[], affine: boolean) {
  return { x: inputs[0]!, alpha: inputs[1]!, g: affine ? inputs[2]! : null, b: affine ? inputs[3]! : null };
}

function check(op: string, inputs: readonly Tensor[], affine: boolean): number {
  const { x, alpha, g, b } = dytInputs(inputs, affine);
  if (alpha.size !== 1 || alpha.rank !== 1) {
    throw new TensorError(op, `alpha must be one value [1], got ${formatShape(alpha.shape)}`);
  }
  // the feature axis and the [dim] parameters are checked as @tinyformer/norm checks its own norms
  return normRows(op, x, g, b).dim;
}

/** Sums [..., D] over every axis but the last -> [D]. */
const columnSum = (t: Tensor) => sum(t.reshape([-1, t.shape[t.rank - 1]!]), 0);

/** DyT's backward: [dy, x, alpha, g?] -> [dx, dalpha, dg?, db?]. */
export const dytBackwardOp: Op<DytAttrs> = defineOp<DytAttrs>({
  name: 'dytBackward',
  shapes(inputs, { affine }) {
    const [dy, x, alpha, g] = inputs as [Tensor, Tensor, Tensor, Tensor | undefined];
    // the forward's checks on [x, alpha, g, b]: the backward gets no b, and g stands in for its [dim] shape
    const dim = check('dytBackward', g ? [x, alpha, g, g] : [x, alpha], affine);
    if (dy!.size !== x.size) throw new TensorError('dytBackward', `dy ${dy!.describe()} must match x ${x.describe()}`);
    return { outputs: affine ? [x.shape, [1], [dim], [dim]] : [x.shape, [1]] };
  },
  composite(inputs, { affine }) {
    const [dy, x, alpha, g] = inputs as [Tensor, Tensor, Tensor, Tensor | undefined];
    const t = x.mul(alpha).tanh();
    const h = affine ? dy.mul(g!) : dy;
    const hs = h.mul(t.square().neg().add(1)); // h * tanh'(alpha x)
    const outputs = [hs.mul(alpha), hs.mul(x).sum().reshape([1])];
    if (affine) outputs.push(columnSum(dy.mul(t)), columnSum(dy));
    return { outputs };
  },
  backward: 'none',
});

/** DyT forward: [x, alpha] or [x, alpha, g, b] -> y; saves nothing (backward recomputes tanh, one cheap pass). */
export const dytOp: Op<DytAttrs> = defineOp<DytAttrs>({
  name: 'dyt',
  shapes(inputs, { affine }) {
    check('dyt', inputs, affine);
    return { outputs: [inputs[0]!.shape] };
  },
  composite(inputs, { affine }) {
    const { x, alpha, g, b } = dytInputs(inputs, affine);
    const t = x.mul(alpha).tanh();
    return { outputs: [g && b ? t.mul(g).add(b) : t] };
  },
  backward([dy], { inputs, attrs }) {
    if (!dy) return inputs.map(() => null);
    const { x, alpha, g } = dytInputs(inputs, attrs.affine);
    return dytBackwardOp.apply(g ? [dy, x, alpha, g] : [dy, x, alpha], attrs);
  },
  cases: [
    {
      inputs: [{ shape: [4, 12], range: [-3, 3] }, { shape: [1], range: [0.2, 1.5] }, { shape: [12] }, { shape: [12] }],
      attrs: { affine: true },
    },
    {
      inputs: [
        { shape: [2, 3, 9], range: [-5, 5] },
        { shape: [1], range: [0.2, 1.5] },
      ],
      attrs: { affine: false },
    },
  ],
});

/** y = g * tanh(alpha * x) + b over the last axis (g, b optional together). */
export function dyt(x: Tensor, alpha: Tensor, g: Tensor | null, b: Tensor | null): Tensor {
  if ((g === null) !== (b === null)) throw new TensorError('dyt', 'scale and shift come together (or neither)');
  return dytOp.apply(g && b ? [x, alpha, g, b] : [x, alpha], { affine: g !== null })[0]!;
}
