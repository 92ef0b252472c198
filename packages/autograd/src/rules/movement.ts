import * as t from '@tinyformer/tensor';
import type { BackwardFn } from '../tape.js';

export const MOVEMENT_RULES: Record<string, BackwardFn> = {
  reshape: (g, node) => [t.reshape(g, node.attrs.from as number[])],
  permute: (g, node) => {
    const perm = node.attrs.perm as number[];
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => {
      inverse[p] = i;
    });
    return [t.permute(g, inverse)];
  },
  slice: (g, node) => [t.padTo(g, node.attrs.begin as number[], node.attrs.inShape as number[])],
  pad: (g, node) => [t.slice(g, node.attrs.begin as number[], node.inputs[0]!.shape)],
  concat: (g, node) => t.split(g, node.attrs.sizes as number[], node.attrs.axis as number),
};
