import { describeBackendConformance, describeOpConformance } from '@tinyformer/tensor/testing';
import { expect, it } from 'vitest';
import type { GpuBackend } from '../src/index.js';
import { inCI, setUpGpu } from '../test/gpu-setup.js';

const { backend, error } = await setUpGpu('conformance');

it.runIf(inCI)('has a WebGPU adapter under CI', () => {
  expect(error).toBeNull();
});

if (backend) {
  // lavapipe passes at the default bounds; a hardware driver may use approximate exp/log/tanh (fast-math)
  describeBackendConformance(`gpu.js:webgpu (${backend.adapterInfo.description})`, () => backend, {
    tolerance: backend.adapterInfo.isFallbackAdapter ? 1 : 4,
  });
  // its registered op kernels (softmax, cross-entropy, the norms) against float64 composites, forward and backward
  describeOpConformance('gpu.js:webgpu', () => backend, {
    ops: ['softmax', 'crossEntropy', 'rmsnorm', 'layernorm'],
    teardown: (b) => (b as GpuBackend).destroy(),
    tolerance: backend.adapterInfo.isFallbackAdapter ? 4 : 16,
  });
} else {
  it.skip(`gpu.js:webgpu conformance (no WebGPU adapter: ${error})`, () => {});
}
