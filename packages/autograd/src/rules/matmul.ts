import * as t from '@tinyformer/tensor';
import type { PrimitiveRule } from './rule.js';
import { unbroadcast } from './unbroadcast.js';

/**
 * C = op(A) op(B). Each case is written so the backward matmuls read the stored operands through transpose
 * flags instead of materializing transposes.
 */
export const MATMUL_RULES: { matmul: PrimitiveRule<'matmul'> } = {
  matmul: (g, node) => {
    const [a, b] = node.inputs as [t.Tensor, t.Tensor];
    const { transA, transB } = node.attrs;
    let da: t.Tensor | null = null;
    let db: t.Tensor | null = null;
    if (!transA && !transB) {
      if (a.requiresGrad) da = t.matmul(g, b, { transB: true });
      if (b.requiresGrad) db = t.matmul(a, g, { transA: true });
    } else if (!transA && transB) {
      if (a.requiresGrad) da = t.matmul(g, b);
      if (b.requiresGrad) db = t.matmul(g, a, { transA: true });
    } else if (transA && !transB) {
      if (a.requiresGrad) da = t.matmul(b, g, { transB: true });
      if (b.requiresGrad) db = t.matmul(a, g);
    } else {
      if (a.requiresGrad) da = t.matmul(b, g, { transA: true, transB: true });
      if (b.requiresGrad) db = t.matmul(g, a, { transA: true, transB: true });
    }
    return [da ? unbroadcast(da, a.shape) : null, db ? unbroadcast(db, b.shape) : null];
  },
};
