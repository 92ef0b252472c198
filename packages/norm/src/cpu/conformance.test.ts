import { CpuBackend } from '@tinyformer/tensor';
import { describeBackendConformance, describeOpConformance } from '@tinyformer/tensor/testing';
import '../index.js';

const NORM_OPS = ['rmsnorm', 'layernorm'];

// the norm kernels against the suite's float64 references (the primitives are covered in @tinyformer/tensor)
describeBackendConformance('cpu, norm kernels', () => new CpuBackend(), { only: 'kernels' });
describeBackendConformance('cpu, norm kernels without the arena (TS kernels)', () => new CpuBackend({ arena: false }), {
  only: 'kernels',
});
// and against their own composites, forward and backward
describeOpConformance('cpu', () => new CpuBackend(), { ops: NORM_OPS });
describeOpConformance('cpu (TS kernels)', () => new CpuBackend({ arena: false }), { ops: NORM_OPS });
describeOpConformance('cpu (float64)', () => new CpuBackend({ precision: 'float64' }), { ops: NORM_OPS });
