import * as t from '@tinyformer/tensor';
import type { PrimitiveRule } from './rule.js';

export const NN_RULES: { gather: PrimitiveRule<'gather'>; scatterAdd: PrimitiveRule<'scatterAdd'> } = {
  gather: (g, node) => {
    const [table, indices] = node.inputs as [t.Tensor, t.Tensor];
    return [t.scatterAdd(g, indices, table.shape[0]!), null];
  },
  scatterAdd: (g, node) => {
    const [src, indices] = node.inputs as [t.Tensor, t.Tensor];
    return [t.gather(g, indices).reshape(src.shape), null];
  },
};
