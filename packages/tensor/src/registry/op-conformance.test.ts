import { CpuBackend } from '../index.js';
import { describeOpConformance } from '../testing/index.js';

// the ops this package owns (softmax, cross-entropy, unaryMul): their CPU kernels against float64 composites
describeOpConformance('cpu', () => new CpuBackend());
describeOpConformance('cpu (no arena: the TS kernels)', () => new CpuBackend({ arena: false }));
describeOpConformance('cpu (float64)', () => new CpuBackend({ precision: 'float64' }));
