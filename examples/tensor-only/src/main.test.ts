import { describe, expect, it } from 'vitest';
import { cpuReport, demo } from './tensors.js';

describe('tensor-only', () => {
  it('matmul, softmax and a causal attention head give the known values; tidy keeps only the output', () => {
    const r = demo();
    expect(r.product).toEqual([
      [19, 22],
      [43, 50],
    ]);
    const e = [1, 2, 3].map(Math.exp);
    const z = e.reduce((a, b) => a + b);
    for (const [i, p] of r.probs.entries()) expect(p).toBeCloseTo(e[i]! / z, 6);
    expect(r.attentionShape).toEqual([8, 16]);
    expect(r.leaked).toBe(1);
  });

  it('the CPU backend reports what it runs on', () => {
    const r = cpuReport();
    expect(r.backend).toBe('cpu');
    expect(r.gemm.length).toBeGreaterThan(0);
    expect([1, 2]).toContain(r.threads);
    expect([1, 2]).toContain(r.defaultThreads);
    // the arena and the SIMD elementwise kernels need WebAssembly SIMD, which every supported Node has
    expect(r.wasmSimd).toBe(true);
    expect(r.simdElementwise).toBe(true);
  });
});
