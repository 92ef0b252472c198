import type { PrimitiveAttrs, PrimitiveName, Tensor } from '@tinyformer/tensor';
import { ELEMENTWISE_RULES } from './elementwise.js';
import { MATMUL_RULES } from './matmul.js';
import { MOVEMENT_RULES } from './movement.js';
import { NN_RULES } from './nn.js';
import { REDUCE_RULES } from './reduce.js';
import type { PrimitiveRule } from './rule.js';

export type { PrimitiveNode, PrimitiveRule } from './rule.js';

/**
 * One backward rule per primitive, keyed by op name (tfjs/tinygrad style), or 'none' where the output carries no
 * gradient. The mapped type makes a missing primitive, or a rule that reads an attribute its op does not record, a
 * compile error. Registry ops (softmax, norms, RoPE...) carry their rule in their definition instead.
 */
export const RULES: { readonly [K in PrimitiveName]: PrimitiveRule<K> | 'none' } = {
  ...ELEMENTWISE_RULES,
  ...REDUCE_RULES,
  ...MATMUL_RULES,
  ...MOVEMENT_RULES,
  ...NN_RULES,
};

export type { PrimitiveAttrs, Tensor };
