// The unary primitives, once. Plain JavaScript (typed through JSDoc) so that both the TypeScript sources and the
// wasm generator (wasm/gen-elementwise.mjs, run by Node without a build) import this one list. An op's code in
// every kernel table (the wasm module's switch, the GPU kernels' branches) is its index here.
// geluGrad and siluGrad are the derivatives of GELU (tanh approximation) and SiLU, for their backward rules; step
// is 1 where x > 0, else 0 (ReLU's derivative).
/** The unary primitives' names, in kernel-code order (an op's code is its index). */
export const UNARY_OPS = /** @type {const} */ ([
  'neg',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'tanh',
  'gelu',
  'silu',
  'relu',
  'sigmoid',
  'abs',
  'square',
  'reciprocal',
  'geluGrad',
  'siluGrad',
  'step',
]);
