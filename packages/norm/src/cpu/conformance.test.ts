import { CpuBackend } from '@tinyformer/tensor';
import { describeOpConformance } from '@tinyformer/tensor/testing';
import '../index.js';
import { describeNormKernelConformance } from '../testing/index.js';

const NORM_OPS = ['rmsnorm', 'layernorm'];

// the norm kernels against float64 references with row-length error bounds
describeNormKernelConformance('cpu', () => new CpuBackend());
describeNormKernelConformance('cpu without the arena (TS kernels)', () => new CpuBackend({ arena: false }));
// and against their own composites, forward and backward
describeOpConformance('cpu', () => new CpuBackend(), { ops: NORM_OPS });
describeOpConformance('cpu (TS kernels)', () => new CpuBackend({ arena: false }), { ops: NORM_OPS });
describeOpConformance('cpu (float64)', () => new CpuBackend({ precision: 'float64' }), { ops: NORM_OPS });
