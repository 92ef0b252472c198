import { CpuBackend } from '@tinyformer/tensor';
import { describeBackendConformance, describeOpConformance } from '@tinyformer/tensor/testing';
import '../index.js';

const OPS = ['splitHeads', 'mergeHeads', 'rope'];

// this package's kernels against the suite's float64 references, and against their own composites
describeBackendConformance('cpu, attention kernels', () => new CpuBackend(), { only: 'kernels' });
describeBackendConformance(
  'cpu, attention kernels without the arena (TS kernels)',
  () => new CpuBackend({ arena: false }),
  {
    only: 'kernels',
  },
);
describeOpConformance('cpu', () => new CpuBackend(), { ops: OPS });
describeOpConformance('cpu (TS kernels)', () => new CpuBackend({ arena: false }), { ops: OPS });
describeOpConformance('cpu (float64)', () => new CpuBackend({ precision: 'float64' }), { ops: OPS });
