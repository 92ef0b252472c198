export { type BackwardOptions, backward, grad } from './backward.js';
export { type OpContext, type OpSpec, defineOp } from './define-op.js';
export { type GradcheckInput, type GradcheckOptions, type GradcheckResult, assertGradcheck, gradcheck } from './gradcheck.js';
export { Parameter, isParameter, zerosLikeParam } from './parameter.js';
export { type BackwardFn, type GraphNode, attachNode, isGradEnabled, noGrad, nodeOf } from './tape.js';
