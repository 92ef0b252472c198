import { describeAttentionKernelConformance } from '@tinyformer/attention/testing';
import { describeFfnKernelConformance } from '@tinyformer/ffn/testing';
import { describeNormKernelConformance } from '@tinyformer/norm/testing';
import { describeBackendConformance, describeOpConformance } from '@tinyformer/tensor/testing';
import { afterAll, expect, it } from 'vitest';
import { inCI, setUpGpu } from '../test/gpu-setup.js';

const { backend, error } = await setUpGpu('conformance');

it.runIf(inCI)('has a WebGPU adapter under CI', () => {
  expect(error).toBeNull();
});

if (backend) {
  afterAll(() => backend.destroy());
  const label = `gpu.js:webgpu (${backend.adapterInfo.description})`;
  // lavapipe passes at the default bounds; a hardware driver may use approximate exp/log/tanh (fast-math)
  const tolerance = backend.adapterInfo.isFallbackAdapter ? 1 : 4;
  describeBackendConformance(label, () => backend, { tolerance });
  // the kernels it registers for other packages' ops (the norms; attention's and SwiGLU's sections skip: no kernels)
  describeNormKernelConformance(label, () => backend, { tolerance });
  describeAttentionKernelConformance(label, () => backend, { tolerance });
  describeFfnKernelConformance(label, () => backend, { tolerance });
  // and every kernel it has against float64 composites, forward and backward
  describeOpConformance(label, () => backend, {
    ops: ['softmax', 'crossEntropy', 'rmsnorm', 'layernorm'],
    tolerance: 4 * tolerance,
  });
} else {
  it.skip(`gpu.js:webgpu conformance (no WebGPU adapter: ${error})`, () => {});
}
