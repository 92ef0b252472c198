import * as t from '@tinyformer/tensor';
import type { BackwardFn } from '../tape.js';

const softmaxRule: BackwardFn = (g, node) => [t.softmaxBackward(node.output, g, node.attrs.params as t.SoftmaxParams)];

export const NN_RULES: Record<string, BackwardFn> = {
  softmax: softmaxRule,
  logSoftmax: softmaxRule,
  gather: (g, node) => {
    const [table, indices] = node.inputs as [t.Tensor, t.Tensor];
    return [t.scatterAdd(g, indices, table.shape[0]!), null];
  },
  scatterAdd: (g, node) => {
    const [src, indices] = node.inputs as [t.Tensor, t.Tensor];
    return [t.gather(g, indices).reshape(src.shape), null];
  },
  crossEntropyRows: (g, node) => {
    const [logits, targets] = node.inputs as [t.Tensor, t.Tensor];
    return [t.crossEntropyBackward(logits, targets, g), null];
  },
};
