import type { BackwardFn } from '../tape.js';
import { ELEMENTWISE_RULES } from './elementwise.js';
import { MATMUL_RULES } from './matmul.js';
import { MOVEMENT_RULES } from './movement.js';
import { NN_RULES } from './nn.js';
import { REDUCE_RULES } from './reduce.js';

/** One backward rule per differentiable primitive, keyed by op name (tfjs/tinygrad style). */
export const RULES: Record<string, BackwardFn> = {
  ...ELEMENTWISE_RULES,
  ...REDUCE_RULES,
  ...MATMUL_RULES,
  ...MOVEMENT_RULES,
  ...NN_RULES,
};
