// The relaxed-SIMD GEMM (docs/cpu-simd.md §1): that it is what runs by default on every Node we support, that it
// really fuses the multiply-add, and that its worker thread runs the same micro-kernel as the main thread.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { MatmulParams } from '../../backend.js';
import { CpuBackend } from '../cpu-backend.js';
import { createWasmGemm } from './wasm-gemm.js';
import { defaultGemmSimd, relaxedSimdSupported, wasmSimdSupported } from './wasm-module.js';

/** x64 with FMA3, or arm64 (always fused): where V8 lowers relaxed_madd to one rounding */
function cpuHasFma(): boolean {
  if (process.arch === 'arm64') return true;
  try {
    return /^flags\s*:.*\bfma\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

function randArray(n: number, seed: number): Float32Array {
  let s = seed;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out[i] = s / 2 ** 30 - 1;
  }
  return out;
}

describe.skipIf(!wasmSimdSupported())('relaxed SIMD GEMM', () => {
  it('is on by default on Node 20, 22 and 24', () => {
    expect(relaxedSimdSupported()).toBe(true);
    expect(defaultGemmSimd()).toBe('relaxed');
    expect(new CpuBackend().gemmSimd).toBe('relaxed');
  });

  it('TINYFORMER_WASM_SIMD=plain makes plain the default', () => {
    const before = process.env.TINYFORMER_WASM_SIMD;
    process.env.TINYFORMER_WASM_SIMD = 'plain';
    try {
      expect(defaultGemmSimd()).toBe('plain');
      expect(new CpuBackend({ threads: 1 }).gemmSimd).toBe('plain');
    } finally {
      if (before === undefined) delete process.env.TINYFORMER_WASM_SIMD;
      else process.env.TINYFORMER_WASM_SIMD = before;
    }
  });

  it.skipIf(!cpuHasFma())('rounds a multiply-add once (fused), where plain SIMD rounds twice', () => {
    // C = (-1)(1 + 2^-11) + a a with a = 1 + 2^-12: a a = 1 + 2^-11 + 2^-24 rounds to 1 + 2^-11 in float32, so a
    // multiply then an add gives 0; a fused multiply-add keeps the 2^-24. 17 columns reach the narrow kernel too.
    const a = 1 + 2 ** -12;
    const N = 17;
    const A = new Float32Array([-1, a]);
    const B = new Float32Array(2 * N);
    B.fill(1 + 2 ** -11, 0, N);
    B.fill(a, N, 2 * N);
    for (const [simd, want] of [
      ['relaxed', 2 ** -24],
      ['plain', 0],
    ] as const) {
      const be = new CpuBackend({ threads: 1, gemmSimd: simd });
      const p: MatmulParams = {
        batch: 1,
        M: 1,
        K: 2,
        N,
        transA: false,
        transB: false,
        aBatchStride: 0,
        bBatchStride: 0,
      };
      const c = be.downloadSync(be.matmul(be.upload(A), be.upload(B), p), N);
      expect([...c], simd).toEqual(new Array(N).fill(want));
    }
  });

  describe('on two threads', () => {
    const one = createWasmGemm({ simd: 'relaxed' })!;
    const two = createWasmGemm({ threads: 2, adaptive: false, simd: 'relaxed' })!;
    afterAll(() => two.dispose());

    it("the worker's chunks are bit-identical to the same rows on one thread", async () => {
      for (let i = 0; i < 500 && !two.threadStats().workerReady; i++) await new Promise((r) => setTimeout(r, 10));
      expect(two.threadStats().workerReady).toBe(true);
      const [M, K, N] = [300, 257, 200];
      const A = randArray(M * K, 1);
      const B = randArray(K * N, 2);
      const c1 = new Float32Array(M * N);
      const c2 = new Float32Array(M * N);
      one.gemm(A, 0, B, 0, c1, 0, M, K, N, false, false);
      // a few products, so the worker takes chunks of at least one even if it wakes up late
      for (let i = 0; i < 5; i++) {
        two.gemm(A, 0, B, 0, c2, 0, M, K, N, false, false);
        expect(c2).toEqual(c1);
      }
      expect(two.threadStats().workerRan).toBeGreaterThan(0);
      // and the plain kernel gives other last bits on this product (so the worker did not fall back to it)
      const plain = new Float32Array(M * N);
      createWasmGemm({ simd: 'plain' })!.gemm(A, 0, B, 0, plain, 0, M, K, N, false, false);
      expect(plain.some((v, i) => v !== c2[i])).toBe(cpuHasFma());
    });
  });
});
