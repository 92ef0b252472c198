import * as t from '@tinyformer/tensor';
import type { PrimitiveRule } from './rule.js';

export const REDUCE_RULES: { [K in t.ReduceOp]: PrimitiveRule<K> } = {
  // the recorded output keeps the reduced axis as size 1, so the gradient broadcasts straight back
  sum: (g, node) => [t.broadcastTo(g, node.inputs[0]!.shape)],
  max: (g, node) => {
    const x = node.inputs[0]!;
    const axis = node.attrs.axis;
    const hit = t.eq(x, node.output);
    // ties share the gradient evenly
    const share = t.div(hit, t.sum(hit, axis, { keepDims: true }));
    return [t.mul(share, g)];
  },
};
