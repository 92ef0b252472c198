/**
 * @tinyformer/tensor/testing: the backend conformance suite and the helpers it is built from (seeded random data,
 * bounded comparisons, float64 references). Needs vitest, an optional peer dependency.
 */
export { BINARY_OPS, type ConformanceOptions, describeBackendConformance, Harness } from './conformance.js';
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
export * from './reference.js';
