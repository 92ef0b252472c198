import './methods.js';

export type {
  AdamWParams,
  Backend,
  BackendMemory,
  BinaryOp,
  FusedKernels,
  HeadsParams,
  MatmulParams,
  NormForwardParams,
  ReduceOp,
  RopeParams,
  SoftmaxParams,
  Storage,
  UnaryOp,
} from './backend.js';
export { UNARY_OPS } from './backend.js';
export { CpuBackend, type CpuBackendOptions, CpuStorage, defaultThreads } from './cpu/cpu-backend.js';
export { type GemmFn, type GemmProvider, referenceGemm } from './cpu/gemm.js';
export { createWasmElementwise, type WasmElementwiseProvider } from './cpu/wasm/wasm-elementwise.js';
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
export { backendOf, record, type TensorLike, wrap } from './ops/internal.js';
export * from './ops/matmul.js';
export * from './ops/movement.js';
export * from './ops/nn.js';
export * from './ops/reduce.js';
export { Rng } from './random.js';
export {
  axisSplit,
  broadcastShapes,
  formatShape,
  normalizeAxis,
  type Shape,
  sameShape,
  sizeOf,
  stridesOf,
} from './shape.js';
export { type DType, Tensor } from './tensor.js';
