import { sameShape, sum, type Tensor } from '@tinyformer/tensor';

/** Sums a broadcast gradient back down to the input's shape (leading extra dims and dims that were 1). */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const extra = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < extra || (shape[i - extra] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return sum(g, axes, { keepDims: true }).reshape(shape);
}
