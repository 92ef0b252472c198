import * as t from '@tinyformer/tensor';
import type { PrimitiveNode, PrimitiveRule } from './rule.js';
import { unbroadcast } from './unbroadcast.js';

type Tensor = t.Tensor;

type PartialGrad = (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => Tensor;

/** a rule for any elementwise primitive (they record no attributes) */
type ElementwiseRule = (g: Tensor, node: Pick<PrimitiveNode<t.BinaryOp>, 'inputs' | 'output'>) => (Tensor | null)[];

/**
 * One function per input, each called only when that input requires grad: a constant operand (a scale, a mask, a
 * RoPE table, a number) costs no gradient kernel and no unbroadcast reduction.
 */
function binaryRule(fa: PartialGrad, fb: PartialGrad): ElementwiseRule {
  return (g, node) => {
    const [a, b] = node.inputs as [Tensor, Tensor];
    const y = node.output;
    return [
      a.requiresGrad ? unbroadcast(fa(g, a, b, y), a.shape) : null,
      b.requiresGrad ? unbroadcast(fb(g, a, b, y), b.shape) : null,
    ];
  };
}

function unaryRule(f: (g: Tensor, x: Tensor, y: Tensor) => Tensor): ElementwiseRule {
  return (g, node) => [f(g, node.inputs[0]!, node.output)];
}

/** maximum/minimum: the winner takes the gradient; ties split it evenly (PyTorch does the same). */
function pickRule(isMax: boolean): ElementwiseRule {
  // the share of a: 1 where a wins, 0.5 on ties, 0 where b wins
  const share = (a: Tensor, b: Tensor) => t.add(isMax ? t.gt(a, b) : t.gt(b, a), t.mul(t.eq(a, b), 0.5));
  return binaryRule(
    (g, a, b) => t.mul(g, share(a, b)),
    (g, a, b) => t.mul(g, t.sub(1, share(a, b))),
  );
}

export const ELEMENTWISE_RULES: { [K in t.BinaryOp | t.UnaryOp]: PrimitiveRule<K> | 'none' } = {
  add: binaryRule(
    (g) => g,
    (g) => g,
  ),
  sub: binaryRule(
    (g) => g,
    (g) => t.neg(g),
  ),
  mul: binaryRule(
    (g, _a, b) => t.mul(g, b),
    (g, a) => t.mul(g, a),
  ),
  div: binaryRule(
    (g, _a, b) => t.div(g, b),
    (g, a, b) => t.neg(t.div(t.mul(g, a), t.square(b))),
  ),
  pow: binaryRule(
    (g, a, b) => t.mul(g, t.mul(b, t.pow(a, t.sub(b, 1)))),
    (g, a, _b, y) => t.mul(g, t.mul(y, t.log(a))),
  ),
  maximum: pickRule(true),
  minimum: pickRule(false),
  neg: unaryRule((g) => t.neg(g)),
  exp: unaryRule((g, _x, y) => t.mul(g, y)),
  log: unaryRule((g, x) => t.div(g, x)),
  sqrt: unaryRule((g, _x, y) => t.div(t.mul(g, 0.5), y)),
  rsqrt: unaryRule((g, x, y) => t.mul(g, t.mul(t.div(y, x), -0.5))),
  tanh: unaryRule((g, _x, y) => t.mul(g, t.sub(1, t.square(y)))),
  // dy * f'(x) in one pass where the backend fuses it (unaryMul), else the product of the two primitives
  gelu: unaryRule((g, x) => t.unaryMul('geluGrad', x, g)),
  silu: unaryRule((g, x) => t.unaryMul('siluGrad', x, g)),
  relu: unaryRule((g, x) => t.unaryMul('step', x, g)),
  sigmoid: unaryRule((g, _x, y) => t.mul(g, t.mul(y, t.sub(1, y)))),
  abs: unaryRule((g, x) => t.mul(g, t.sub(t.unary('step', x), t.unary('step', t.neg(x))))),
  square: unaryRule((g, x) => t.mul(g, t.mul(x, 2))),
  reciprocal: unaryRule((g, _x, y) => t.neg(t.mul(g, t.square(y)))),
  // comparisons and derivative helpers: their outputs carry no gradient
  eq: 'none',
  gt: 'none',
  geluGrad: 'none',
  siluGrad: 'none',
  step: 'none',
};
