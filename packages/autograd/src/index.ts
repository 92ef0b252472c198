export { type BackwardOptions, backward, grad } from './backward.js';
export {
  assertGradcheck,
  type GradcheckInput,
  type GradcheckOptions,
  type GradcheckResult,
  gradcheck,
} from './gradcheck.js';
export { Embedding } from './nn/embedding.js';
export { Linear, type LinearOptions } from './nn/linear.js';
export { Module } from './nn/module.js';
export { isParameter, Parameter, zerosLikeParam } from './parameter.js';
export { type PrimitiveNode, type PrimitiveRule, RULES } from './rules/index.js';
export {
  attachMultiNode,
  attachNode,
  type BackwardFn,
  type GraphNode,
  isGradEnabled,
  type MultiBackwardFn,
  nodeOf,
  noGrad,
} from './tape.js';
