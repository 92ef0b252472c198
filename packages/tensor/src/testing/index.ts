/**
 * @tinyformer/tensor/testing: the backend conformance suite and the helpers it is built from (seeded random data,
 * bounded comparisons, float64 references, fast-check arbitraries). Needs vitest and fast-check, optional peer
 * dependencies.
 */

export { broadcastPairArb, seedArb, shapeArb } from './arbitraries.js';
export {
  BINARY_OPS,
  type ConformanceOptions,
  type ConformanceRun,
  describeBackendConformance,
  describeKernelSuite,
  Harness,
} from './conformance.js';
export {
  awayFromZero,
  expectClose,
  F32_EPS,
  randomFloats,
  randomIndices,
  randomInts,
  randomNormals,
  scaledBound,
} from './helpers.js';
export { describeOpConformance, type OpConformanceOptions } from './op-conformance.js';
export * from './reference.js';
