import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MatmulParams } from '../../backend.js';
import { CpuBackend } from '../cpu-backend.js';
import { referenceGemm } from '../gemm.js';
import { gemmReference } from '../kernels/gemm-reference.js';
import { createWasmGemm } from './wasm-gemm.js';
import { type GemmSimd, relaxedSimdSupported, wasmSimdSupported } from './wasm-module.js';

const U = 2 ** -24;
const SENTINEL = 12345.5;
const GUARD = 37;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randArray(n: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rand() * 2 - 1;
  return out;
}

/** float64 oracle: R = op(A) op(B) and S = |op(A)| |op(B)| for the error bound */
function oracle(
  A: Float32Array,
  aOff: number,
  B: Float32Array,
  bOff: number,
  M: number,
  K: number,
  N: number,
  ta: boolean,
  tb: boolean,
) {
  const a = Float64Array.from(A.subarray(aOff, aOff + M * K));
  const b = Float64Array.from(B.subarray(bOff, bOff + K * N));
  const R = new Float64Array(M * N);
  const S = new Float64Array(M * N);
  gemmReference(a, 0, b, 0, R, 0, M, K, N, ta, tb);
  gemmReference(a.map(Math.abs), 0, b.map(Math.abs), 0, S, 0, M, K, N, ta, tb);
  return { R, S };
}

/** worst |C - R| / (K 2^-24 (|A||B|)ij); the deterministic bound is about 1, blocked SIMD sums land far below */
function errorRatio(C: Float32Array, cOff: number, R: Float64Array, S: Float64Array, K: number): number {
  let worst = 0;
  for (let i = 0; i < R.length; i++) {
    const err = Math.abs(C[cOff + i]! - R[i]!);
    if (err === 0) continue;
    const bound = Math.max(K, 1) * U * S[i]!;
    worst = Math.max(worst, bound > 0 ? err / bound : Number.POSITIVE_INFINITY);
  }
  return worst;
}

function expectGuards(C: Float32Array, from: number, to: number): void {
  for (let i = 0; i < from; i++) if (C[i] !== SENTINEL) expect.fail(`wrote C[${i}] before the output`);
  for (let i = to; i < C.length; i++) if (C[i] !== SENTINEL) expect.fail(`wrote C[${i}] after the output`);
}

function expectSame(x: Float32Array, y: Float32Array, what: string): void {
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) expect.fail(`${what}[${i}] was modified`);
}

// every test runs on both micro-kernels where the engine has relaxed SIMD (Node 22+; Node 20 once the backend set
// V8's flag, which relaxedSimdSupported() does)
const MODES: GemmSimd[] = relaxedSimdSupported() ? ['relaxed', 'plain'] : ['plain'];
const suffix = (simd: GemmSimd) => (simd === 'relaxed' ? ' relaxed' : '');

describe.skipIf(!wasmSimdSupported()).each(MODES)('wasm SIMD gemm (%s)', (simd) => {
  const g = createWasmGemm({ simd })!;

  function check(
    M: number,
    K: number,
    N: number,
    ta: boolean,
    tb: boolean,
    seed: number,
    offsets = true,
    gp = g,
  ): void {
    const rand = rng(seed);
    const aOff = offsets ? 3 + (seed % 5) : 0;
    const bOff = offsets ? 1 + (seed % 7) : 0;
    const cOff = offsets ? GUARD : 0;
    const A = randArray(aOff + M * K + GUARD, rand);
    const B = randArray(bOff + K * N + GUARD, rand);
    const A0 = A.slice();
    const B0 = B.slice();
    const C = new Float32Array(cOff + M * N + GUARD).fill(SENTINEL);
    C.fill(1e30, cOff, cOff + M * N); // must be overwritten, not accumulated into
    gp.gemm(A, aOff, B, bOff, C, cOff, M, K, N, ta, tb);
    expectGuards(C, cOff, cOff + M * N);
    expectSame(A, A0, 'A');
    expectSame(B, B0, 'B');
    const { R, S } = oracle(A, aOff, B, bOff, M, K, N, ta, tb);
    expect(errorRatio(C, cOff, R, S, K), `${M}x${K}x${N} transA=${ta} transB=${tb}`).toBeLessThanOrEqual(1);
  }

  const combos: [boolean, boolean][] = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ];

  function checkBatched(p: MatmulParams, seed: number, gp = g): void {
    const { batch, M, K, N, transA, transB, aBatchStride, bBatchStride } = p;
    const rand = rng(seed);
    const A = randArray((batch - 1) * aBatchStride + M * K, rand);
    const B = randArray((batch - 1) * bBatchStride + K * N, rand);
    const C = new Float32Array(batch * M * N + GUARD).fill(SENTINEL);
    C.fill(-1e30, 0, batch * M * N);
    gp.batched(A, B, C, p);
    expectGuards(C, 0, batch * M * N);
    for (let i = 0; i < batch; i++) {
      const { R, S } = oracle(A, i * aBatchStride, B, i * bBatchStride, M, K, N, transA, transB);
      const e = errorRatio(C, i * M * N, R, S, K);
      expect(e, `batch ${i} of ${JSON.stringify(p)}`).toBeLessThanOrEqual(1);
    }
  }

  it('is named after its tile', () => {
    expect(g.name).toBe(`wasm-simd 2x16${suffix(simd)}`);
    expect(g.simd).toBe(simd);
  });

  it('matches the float64 oracle on named shapes, all transposes', () => {
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [1, 7, 1],
      [2, 3, 16],
      [3, 1, 17],
      [64, 32, 64], // attention
      [64, 64, 32],
      [96, 128, 65], // vocab head
      [65, 128, 96],
      [97, 255, 33], // MC + 1, KC - 1
      [95, 256, 1024], // KC, NC exactly
      [31, 257, 47], // K = KC + 1
      [13, 600, 29], // K > 2 KC
      [5, 1000, 3],
      [7, 19, 1100], // N > NC
      [3, 300, 2051], // N > 2 NC
      [200, 5, 9], // M > 2 MC
      [300, 300, 300],
      [293, 17, 211], // primes
      [1, 300, 257],
      [257, 300, 1],
    ];
    shapes.forEach(([M, K, N], s) => {
      for (const [ta, tb] of combos) check(M, K, N, ta, tb, s * 4 + 1);
    });
  });

  it('matches the float64 oracle on random shapes from 1 to 300', () => {
    const rand = rng(2024);
    const pick = () => {
      const dims = [
        1, 2, 3, 4, 5, 7, 8, 11, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 96, 97, 127, 128, 129, 191, 256, 299,
      ];
      return rand() < 0.6 ? dims[Math.floor(rand() * dims.length)]! : 1 + Math.floor(rand() * 300);
    };
    for (let t = 0; t < 60; t++) {
      const [M, K, N] = [pick(), pick(), pick()];
      const [ta, tb] = combos[t % 4]!;
      check(M, K, N, ta, tb, 100 + t, t % 3 !== 0);
    }
  });

  it('zero-fills C when K = 0 and leaves it alone when M or N = 0', () => {
    const C = new Float32Array(6 + 2 * GUARD).fill(SENTINEL);
    g.gemm(new Float32Array(0), 0, new Float32Array(0), 0, C, GUARD, 2, 0, 3, false, false);
    expect(Array.from(C.subarray(GUARD, GUARD + 6))).toEqual([0, 0, 0, 0, 0, 0]);
    expectGuards(C, GUARD, GUARD + 6);
    const D = new Float32Array(8).fill(SENTINEL);
    g.gemm(new Float32Array(8), 0, new Float32Array(8), 0, D, 0, 0, 4, 2, false, false);
    g.gemm(new Float32Array(8), 0, new Float32Array(8), 0, D, 0, 2, 4, 0, false, false);
    expectGuards(D, 0, 0);
  });

  it('rejects operands shorter than M, K, N and the offsets need', () => {
    const [A, B, C] = [new Float32Array(6), new Float32Array(6), new Float32Array(4)];
    expect(() => g.gemm(A, 1, B, 0, C, 0, 2, 3, 2, false, false)).toThrow(RangeError);
    expect(() => g.gemm(A, 0, B, 0, C, 1, 2, 3, 2, false, false)).toThrow(RangeError);
  });

  it('stays correct across memory growth and back to small calls', () => {
    const fresh = createWasmGemm({ simd })!;
    check(5, 6, 7, false, false, 1, true, fresh);
    const before = fresh.memoryBytes();
    check(600, 8, 700, false, true, 2, true, fresh);
    expect(fresh.memoryBytes()).toBeGreaterThan(before);
    check(5, 6, 7, true, false, 3, true, fresh);
    check(64, 32, 64, false, true, 4, true, fresh);
  });

  describe('batched', () => {
    it('runs attention-shaped batches with every transpose', () => {
      let seed = 7;
      for (const [transA, transB] of combos) {
        const [M, K, N] = [64, 32, 64];
        checkBatched({ batch: 48, M, K, N, transA, transB, aBatchStride: M * K, bBatchStride: K * N }, seed++);
      }
    });

    it('shares an operand across the batch with stride 0', () => {
      let seed = 70;
      for (const [transA, transB] of combos) {
        for (const [M, K, N] of [
          [13, 29, 65],
          [3, 300, 17],
        ] as const) {
          const dense = { aBatchStride: M * K, bBatchStride: K * N };
          checkBatched({ batch: 5, M, K, N, transA, transB, ...dense, bBatchStride: 0 }, seed++);
          checkBatched({ batch: 5, M, K, N, transA, transB, ...dense, aBatchStride: 0 }, seed++);
          checkBatched({ batch: 3, M, K, N, transA, transB, aBatchStride: 0, bBatchStride: 0 }, seed++);
        }
      }
    });

    it('handles strides with gaps, batch 1 and K = 0', () => {
      checkBatched(
        { batch: 4, M: 9, K: 11, N: 21, transA: true, transB: false, aBatchStride: 130, bBatchStride: 250 },
        5,
      );
      checkBatched({ batch: 1, M: 33, K: 70, N: 5, transA: true, transB: true, aBatchStride: 0, bBatchStride: 0 }, 6);
      const C = new Float32Array(2 * 6).fill(SENTINEL);
      const p = { batch: 2, M: 2, K: 0, N: 3, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
      g.batched(new Float32Array(0), new Float32Array(0), C, p);
      expect(Array.from(C)).toEqual(new Array(12).fill(0));
    });

    it('rejects operands shorter than the batch needs', () => {
      const p = { batch: 3, M: 2, K: 2, N: 2, transA: false, transB: false, aBatchStride: 4, bBatchStride: 4 };
      expect(() => g.batched(new Float32Array(8), new Float32Array(12), new Float32Array(12), p)).toThrow(RangeError);
    });
  });

  describe('2 threads', () => {
    const t2 = createWasmGemm({ threads: 2, adaptive: false, simd })!;
    const adaptive = createWasmGemm({ threads: 2, simd })!;

    beforeAll(async () => {
      // the worker instantiates asynchronously; until then every product runs on the main thread
      for (let i = 0; i < 500 && !(t2.threadStats().workerReady && adaptive.threadStats().workerReady); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
    afterAll(() => {
      t2.dispose();
      adaptive.dispose();
    });

    it('starts a worker', () => {
      expect(t2.threads).toBe(2);
      expect(t2.name).toBe(`wasm-simd 2x16${suffix(simd)} x2`);
      expect(t2.threadStats().workerReady).toBe(true);
    });

    it('splits on M or N with every transpose and matches the oracle', () => {
      const shapes: [number, number, number][] = [
        [301, 300, 97], // split on M, odd
        [97, 300, 301], // split on N, off the 16-column tile
        [1, 1000, 1100], // one row: only N can be split
        [1100, 1000, 1], // one column: only M can be split
        [129, 600, 200], // K > 2 KC
        [64, 129, 1500], // N > NC
        [1000, 300, 97], // 7 row chunks of 144, the last 136
        [97, 300, 1001], // 7 column chunks of 144, the last one 137 (off the tile)
      ];
      shapes.forEach(([M, K, N], s) => {
        for (const [ta, tb] of combos) check(M, K, N, ta, tb, 500 + s * 4, true, t2);
      });
      const st = t2.threadStats();
      expect(st.split).toBe(shapes.length * 4);
      expect(st.workerRan).toBeGreaterThan(0);
    });

    it('splits batches, including shared operands and odd batch counts', () => {
      let seed = 900;
      for (const [transA, transB] of combos) {
        const [M, K, N] = [64, 32, 64];
        const dense = { aBatchStride: M * K, bBatchStride: K * N };
        checkBatched({ batch: 48, M, K, N, transA, transB, ...dense }, seed++, t2);
        checkBatched({ batch: 7, M, K, N: 300, transA, transB, aBatchStride: 0, bBatchStride: K * 300 }, seed++, t2);
        checkBatched({ batch: 5, M: 300, K, N, transA, transB, aBatchStride: 300 * K, bBatchStride: 0 }, seed++, t2);
        // 4 batch chunks of 10, the last 7
        checkBatched(
          { batch: 37, M, K: 64, N: 128, transA, transB, aBatchStride: M * 64, bBatchStride: 64 * 128 },
          seed++,
          t2,
        );
      }
    });

    it('stays correct while the adaptive choice switches between 1 and 2 threads', () => {
      for (let i = 0; i < 40; i++) check(200, 100, 150, i % 2 === 0, i % 3 === 0, 1000 + i, true, adaptive);
      const st = adaptive.threadStats();
      expect(st.split + st.single).toBe(40);
    });

    it('falls back to one thread after dispose', () => {
      const t = createWasmGemm({ threads: 2, adaptive: false, simd })!;
      t.dispose();
      check(200, 100, 150, false, false, 3, true, t);
      expect(t.threadStats().split).toBe(0);
    });
  });

  describe('in CpuBackend', () => {
    it('is the default provider, and the TS kernel can be forced', () => {
      // 2 threads by default on a 2+ core host (defaultThreads), 1 with threads: 1
      expect(new CpuBackend({ gemmSimd: simd }).gemmProvider.name).toMatch(/^wasm-simd 2x16( relaxed)?( x2)?$/);
      const one = new CpuBackend({ threads: 1, gemmSimd: simd });
      expect(one.gemmProvider.name).toBe(`wasm-simd 2x16${suffix(simd)}`);
      expect(one.gemmSimd).toBe(simd);
      expect(new CpuBackend({ threads: 1, gemmSimd: simd, arena: false }).gemmSimd).toBe(simd);
      expect(new CpuBackend({ precision: 'float64' }).gemmSimd).toBe(null);
      expect(new CpuBackend({ gemm: referenceGemm }).gemmProvider.name).toBe('ts-reference');
    });

    it('agrees with the TS backend on a batched matmul with a shared operand', () => {
      const rand = rng(99);
      const [batch, M, K, N] = [6, 17, 40, 65];
      const a = randArray(batch * M * K, rand);
      const b = randArray(N * K, rand);
      const p: MatmulParams = { batch, M, K, N, transA: false, transB: true, aBatchStride: M * K, bBatchStride: 0 };
      const run = (be: CpuBackend) => be.downloadSync(be.matmul(be.upload(a), be.upload(b), p), batch * M * N);
      const fast = run(new CpuBackend({ gemmSimd: simd }));
      const slow = run(new CpuBackend({ gemm: referenceGemm }));
      for (let i = 0; i < fast.length; i++) expect(Math.abs(fast[i]! - slow[i]!)).toBeLessThan(K * 4 * U * 4);
    });
  });
});
