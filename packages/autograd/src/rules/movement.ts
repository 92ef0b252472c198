import * as t from '@tinyformer/tensor';
import type { PrimitiveRule } from './rule.js';

type MovementOp = 'reshape' | 'permute' | 'slice' | 'pad' | 'concat';

export const MOVEMENT_RULES: { [K in MovementOp]: PrimitiveRule<K> } = {
  reshape: (g, node) => [t.reshape(g, node.attrs.from)],
  permute: (g, node) => {
    const perm = node.attrs.perm;
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => {
      inverse[p] = i;
    });
    return [t.permute(g, inverse)];
  },
  slice: (g, node) => [t.padTo(g, node.attrs.begin, node.attrs.inShape)],
  pad: (g, node) => [t.slice(g, node.attrs.begin, node.inputs[0]!.shape)],
  concat: (g, node) => t.split(g, [...node.attrs.sizes], node.attrs.axis),
};
