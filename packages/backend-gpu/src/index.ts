import './op-kernels.js';

export {
  type CreateGpuBackendOptions,
  createGpuBackend,
  GpuBackend,
  type GpuBackendStats,
  GpuStorage,
} from './gpu-backend.js';
export {
  type BackendPreference,
  type FallbackKind,
  type SelectBackendOptions,
  type SelectedBackend,
  selectBackend,
} from './select.js';
export { type AdapterInfo, installNavigatorGpu, probeAdapter } from './webgpu-env.js';
