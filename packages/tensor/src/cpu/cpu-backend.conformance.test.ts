import { expect } from 'vitest';
import type { Backend } from '../backend.js';
import '../index.js';
import { describeBackendConformance } from '../testing/index.js';
import { CpuBackend } from './cpu-backend.js';

describeBackendConformance('cpu', () => new CpuBackend());
// the composite-only backend runs no op kernels: the suite checks its primitives and skips the kernel section
describeBackendConformance('cpu (composite)', () => new CpuBackend({ kernels: false }));
// gradcheck's backend: float64 storage must still honour the float32 transfer contract
describeBackendConformance('cpu (float64)', () => new CpuBackend({ precision: 'float64' }));
describeBackendConformance('cpu (no pool)', () => new CpuBackend({ pool: false }));
// the GEMM's plain-SIMD micro-kernel (a multiply then an add), the default where relaxed SIMD is missing
describeBackendConformance('cpu (plain SIMD)', () => new CpuBackend({ gemmSimd: 'plain' }));
// the suite must work for asynchronous backends: the CPU backend behind a download that resolves a tick later
describeBackendConformance('cpu (async downloads)', () => asyncWrapper(new CpuBackend()), {
  teardown: (b) => {
    expect(b.synchronous).toBe(false);
  },
});

/** The CPU backend seen through an asynchronous facade: no downloadSync, and data arrives after a macrotask. */
function asyncWrapper(cpu: CpuBackend): Backend {
  // through the Backend interface: storages are opaque here
  const inner: Backend & { downloadSync(s: object, n: number): Float32Array } = cpu;
  return {
    specificationVersion: 'v1',
    name: 'cpu-async',
    synchronous: false,
    upload: (v) => inner.upload(v),
    download: async (s, size) => {
      await new Promise((r) => setTimeout(r, 0));
      return inner.downloadSync(s, size);
    },
    dispose: (s) => inner.dispose(s),
    memory: () => inner.memory(),
    fill: (size, value) => inner.fill(size, value),
    unary: (op, x, size) => inner.unary(op, x, size),
    binary: (op, a, aShape, b, bShape, outShape) => inner.binary(op, a, aShape, b, bShape, outShape),
    reduce: (op, x, outer, len, inner_) => inner.reduce(op, x, outer, len, inner_),
    matmul: (a, b, p) => inner.matmul(a, b, p),
    permute: (x, shape, perm) => inner.permute(x, shape, perm),
    slice: (x, shape, begin, size) => inner.slice(x, shape, begin, size),
    pad: (x, shape, begin, outShape) => inner.pad(x, shape, begin, outShape),
    concat: (xs, shapes, axis) => inner.concat(xs, shapes, axis),
    gather: (table, vocab, dim, indices, n) => inner.gather(table, vocab, dim, indices, n),
    scatterAdd: (src, n, dim, indices, vocab) => inner.scatterAdd(src, n, dim, indices, vocab),
    adamwUpdate: (param, grad, m, v, size, p) => inner.adamwUpdate(param, grad, m, v, size, p),
  };
}
