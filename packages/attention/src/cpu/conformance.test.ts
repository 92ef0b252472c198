import { CpuBackend } from '@tinyformer/tensor';
import { describeOpConformance } from '@tinyformer/tensor/testing';
import '../index.js';
import { describeAttentionKernelConformance } from '../testing/index.js';

const OPS = ['splitHeads', 'mergeHeads', 'rope'];

// this package's kernels against float64 references, and against their own composites
describeAttentionKernelConformance('cpu', () => new CpuBackend());
describeAttentionKernelConformance('cpu without the arena (TS kernels)', () => new CpuBackend({ arena: false }));
describeOpConformance('cpu', () => new CpuBackend(), { ops: OPS });
describeOpConformance('cpu (TS kernels)', () => new CpuBackend({ arena: false }), { ops: OPS });
describeOpConformance('cpu (float64)', () => new CpuBackend({ precision: 'float64' }), { ops: OPS });
