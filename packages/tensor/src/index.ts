import './methods.js';
import './cpu/op-kernels.js';

export type {
  AdamWParams,
  Backend,
  BackendMemory,
  BinaryOp,
  MatmulParams,
  ReduceOp,
  SoftmaxParams,
  Storage,
  UnaryOp,
} from './backend.js';
export { UNARY_OPS } from './backend.js';
export { CpuBackend, type CpuBackendOptions, CpuStorage, defaultThreads } from './cpu/cpu-backend.js';
export { type GemmFn, type GemmProvider, referenceGemm } from './cpu/gemm.js';
export type { FloatArray } from './cpu/kernels/float-array.js';
export type { WasmArena } from './cpu/wasm/wasm-arena.js';
export { createWasmElementwise, type WasmElementwiseProvider } from './cpu/wasm/wasm-elementwise.js';
export {
  createWasmGemm,
  type WasmGemmOptions,
  type WasmGemmProvider,
  type WasmThreadStats,
} from './cpu/wasm/wasm-gemm.js';
export {
  defaultGemmSimd,
  type GemmSimd,
  type KernelExports,
  relaxedSimdSupported,
  wasmSimdSupported,
} from './cpu/wasm/wasm-module.js';
export type { GemmThreadInfo, ParallelKernel } from './cpu/wasm/wasm-threads.js';
export { type AutogradHooks, autogradHooks, getBackend, setBackend, tidy } from './engine.js';
export { ShapeError, TensorError } from './errors.js';
export * from './ops/creation.js';
export * from './ops/elementwise.js';
export { backendOf, type TensorLike } from './ops/internal.js';
export * from './ops/matmul.js';
export * from './ops/movement.js';
export * from './ops/nn.js';
export * from './ops/reduce.js';
export { Rng } from './random.js';
export {
  type KernelCalls,
  kernelCalls,
  type StorageInput,
  type StorageKernel,
  storageKernel,
} from './registry/kernel-calls.js';
export {
  type BackwardRule,
  type CaseInput,
  defineOp,
  type Kernel,
  type KernelResult,
  Op,
  type OpCase,
  type OpContext,
  type OpShapes,
  type OpSpec,
  type RecordedOp,
  registeredOps,
  registerKernel,
} from './registry/op.js';
export type { PrimitiveAttrs, PrimitiveName } from './registry/primitives.js';
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
