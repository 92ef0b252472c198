import './methods.js';

export type {
  AdamWParams,
  Backend,
  BackendMemory,
  BinaryOp,
  FusedKernels,
  MatmulParams,
  NormForwardParams,
  ReduceOp,
  SoftmaxParams,
  Storage,
  UnaryOp,
} from './backend.js';
export { UNARY_OPS } from './backend.js';
export { CpuBackend, CpuStorage, type CpuBackendOptions } from './cpu/cpu-backend.js';
export { type GemmFn, type GemmProvider, referenceGemm } from './cpu/gemm.js';
export {
  createWasmGemm,
  type WasmGemmOptions,
  type WasmGemmProvider,
  type WasmThreadStats,
  wasmSimdSupported,
} from './cpu/wasm/wasm-gemm.js';
export { type AutogradHooks, autogradHooks, getBackend, setBackend, tidy } from './engine.js';
export { ShapeError, TensorError } from './errors.js';
export * from './ops/creation.js';
export * from './ops/elementwise.js';
export { type TensorLike, backendOf, record, wrap } from './ops/internal.js';
export * from './ops/matmul.js';
export * from './ops/movement.js';
export * from './ops/nn.js';
export * from './ops/reduce.js';
export { Rng } from './random.js';
export { type Shape, axisSplit, broadcastShapes, formatShape, normalizeAxis, sameShape, sizeOf, stridesOf } from './shape.js';
export { type DType, Tensor } from './tensor.js';
