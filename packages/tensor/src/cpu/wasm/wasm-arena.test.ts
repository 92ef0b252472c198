import { describe, expect, it } from 'vitest';
import type { MatmulParams, Storage } from '../../backend.js';
import '../op-kernels.js';
import { kernelCalls } from '../../registry/kernel-calls.js';
import { CpuBackend, CpuStorage, defaultThreads } from '../cpu-backend.js';
import { gemmReference } from '../kernels/gemm-reference.js';
import { blockFloats, sharedArena, WasmArena } from './wasm-arena.js';
import { wasmSimdSupported } from './wasm-module.js';

const supported = wasmSimdSupported() && typeof SharedArrayBuffer === 'function';

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 4 - 2;
  }
  return out;
}

describe.runIf(supported)('the wasm tensor arena', () => {
  it('is the default home of float32 CPU tensors; float64, pool: false and arena: false keep ordinary arrays', () => {
    const b = new CpuBackend();
    expect(b.arena).toBe(sharedArena(defaultThreads()));
    expect(new CpuBackend({ threads: 1 }).arena).toBe(sharedArena(1));
    const s = b.upload(rand(10, 1)) as CpuStorage;
    expect(s.arena).toBe(b.arena);
    expect(s.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(s.data.length).toBe(10);
    expect(b.arena!.ptrOf(s.data as Float32Array)).toBe(s.ptr);
    expect(b.arena!.ptrOf(new Float32Array(10))).toBe(-1);
    expect(b.gemmProvider.name).toBe(`wasm-simd 2x16 relaxed${defaultThreads() === 2 ? ' x2' : ''}`);
    for (const opts of [
      { precision: 'float64' as const },
      { pool: false },
      { arena: false },
      { simdElementwise: false },
    ]) {
      const o = new CpuBackend(opts);
      expect(o.arena).toBeNull();
      expect((o.upload(rand(3, 2)) as CpuStorage).arena).toBeNull();
    }
    b.dispose(s);
  });

  it('reuses a freed block of the same padded size; a reused block is zeroed where zeros are promised', () => {
    const a = new WasmArena({ limitBytes: 64 * 2 ** 20 });
    const x = a.alloc(100)!;
    expect(x.fresh).toBe(true);
    expect(x.cap).toBeGreaterThanOrEqual(104);
    expect(x.ptr % 64).toBe(0);
    x.data.fill(7);
    a.release(x.ptr, x.cap);
    const y = a.alloc(97)!;
    expect(y.ptr).toBe(x.ptr);
    expect(y.fresh).toBe(false);
    expect(y.data.length).toBe(97);
    a.release(y.ptr, y.cap);
    // through the backend: pad() promises zeros around the box, also in a recycled block
    const b = new CpuBackend();
    const junk = b.fill(12, 5);
    b.dispose(junk);
    const p = b.pad(b.upload(Float32Array.from([1, 2])), [2], [3], [12]);
    expect(Array.from(b.downloadSync(p, 12))).toEqual([0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('returns null past its limit (the backend then falls back to ordinary arrays and TS kernels)', () => {
    const a = new WasmArena({ limitBytes: 32 * 2 ** 20 });
    const blocks = [];
    let b = a.alloc(2 ** 18);
    while (b) {
      blocks.push(b);
      b = a.alloc(2 ** 18);
    }
    expect(blocks.length).toBeGreaterThan(3);
    expect(a.memoryBytes).toBeLessThanOrEqual(32 * 2 ** 20);
    a.release(blocks[0]!.ptr, blocks[0]!.cap);
    expect(a.alloc(2 ** 18)?.ptr).toBe(blocks[0]!.ptr);
  });

  describe('kernels write nothing past their outputs (row kernels run whole vectors past each row)', () => {
    const b = new CpuBackend();
    const arena = b.arena!;
    const SENTINEL = 12345.5;

    /**
     * Runs the op that `prepare` returns (after making its inputs), whose first output has n floats, with that
     * output placed right before a sentinel block: a block of n floats is freed just before the call, so the output
     * reuses it (free lists are last in, first out).
     */
    function guarded(n: number, prepare: () => () => Storage | Storage[]): void {
      const op = prepare();
      // fresh (bump-allocated) blocks are adjacent: take blocks until both are fresh, holding the recycled ones
      const held: { ptr: number; cap: number }[] = [];
      let slot = arena.alloc(n)!;
      while (!slot.fresh) {
        held.push(slot);
        slot = arena.alloc(n)!;
      }
      let guard = arena.alloc(64)!;
      while (!guard.fresh) {
        held.push(guard);
        guard = arena.alloc(64)!;
      }
      for (const h of held) arena.release(h.ptr, h.cap);
      guard.data.fill(SENTINEL);
      arena.release(slot.ptr, slot.cap);
      const out = op();
      const first = (Array.isArray(out) ? out[0] : out) as CpuStorage;
      expect(first.ptr).toBe(slot.ptr);
      expect(guard.ptr).toBe(slot.ptr + slot.cap * 4);
      expect(Array.from(guard.data).every((v) => v === SENTINEL)).toBe(true);
      for (const s of Array.isArray(out) ? out : [out]) b.dispose(s);
      arena.release(guard.ptr, guard.cap);
    }

    const up = (n: number, seed: number) => b.upload(rand(n, seed));

    for (const dim of [1, 2, 3, 5, 6, 7, 9, 13]) {
      const rows = 3;
      const n = rows * dim;
      it(`dim ${dim}: softmax (causal, log), softmaxBackward, norms, row binaries, unary`, () => {
        for (const log of [false, true]) {
          for (const tq of [0, 1, 3]) {
            if (tq > dim) continue;
            const p = { rows, cols: dim, log, causalQueryLen: tq };
            guarded(n, () => {
              const x = up(n, 1);
              return () => kernelCalls(b).softmax!(x, p);
            });
            guarded(n, () => {
              const [y, dy] = [up(n, 2), up(n, 3)];
              return () => kernelCalls(b).softmaxBackward!(y, dy, p);
            });
          }
        }
        guarded(n, () => {
          const [x, g] = [up(n, 4), up(dim, 5)];
          return () => {
            const [y, rstd] = [b.alloc(n), b.alloc(rows)];
            arena.wasm.rmsnormForward(x.ptr, g.ptr, y.ptr, rstd.ptr, rows, dim, 1e-5);
            return [y, rstd];
          };
        });
        guarded(n, () => {
          const [dy, x, g, rstd] = [up(n, 6), up(n, 7), up(dim, 8), up(rows, 9)];
          return () => {
            const [dx, dg] = [b.alloc(n), b.alloc(dim)];
            b.scratch(arena, 2 * Math.ceil(dim / 4) * 4, (acc) =>
              arena.wasm.rmsnormBackward(dy.ptr, x.ptr, g.ptr, rstd.ptr, dx.ptr, dg.ptr, acc, rows, dim),
            );
            return [dx, dg];
          };
        });
        guarded(n, () => {
          const [x, g, bias] = [up(n, 10), up(dim, 11), up(dim, 12)];
          return () => {
            const [y, mean, rstd] = [b.alloc(n), b.alloc(rows), b.alloc(rows)];
            arena.wasm.layernormForward(x.ptr, g.ptr, bias.ptr, y.ptr, mean.ptr, rstd.ptr, rows, dim, 1e-5);
            return [y, mean, rstd];
          };
        });
        guarded(n, () => {
          const [dy, x, g, mean, rstd] = [up(n, 13), up(n, 14), up(dim, 15), up(rows, 16), up(rows, 17)];
          return () => {
            const [dx, dg, db] = [b.alloc(n), b.alloc(dim), b.alloc(dim)];
            b.scratch(arena, 4 * Math.ceil(dim / 4) * 4, (acc) =>
              arena.wasm.layernormBackward(
                dy.ptr,
                x.ptr,
                g.ptr,
                mean.ptr,
                rstd.ptr,
                dx.ptr,
                dg.ptr,
                db.ptr,
                acc,
                rows,
                dim,
              ),
            );
            return [dx, dg, db];
          };
        });
        guarded(n, () => {
          const [x, row] = [up(n, 18), up(dim, 19)];
          return () => b.binary('add', x, [rows, dim], row, [dim], [rows, dim]);
        });
        guarded(n, () => {
          const [row, x] = [up(dim, 20), up(n, 21)];
          return () => b.binary('sub', row, [dim], x, [rows, dim], [rows, dim]);
        });
        guarded(n, () => {
          const x = up(n, 22);
          return () => b.unary('silu', x, n);
        });
        guarded(n, () => {
          const [x, y] = [up(n, 23), up(n, 24)];
          return () => b.binary('mul', x, [n], y, [n], [n]);
        });
      });
    }

    it('rows whose sums see NaN only past the row end stay finite (the masks zero those lanes)', () => {
      const dim = 5;
      const rows = 2;
      const slot = arena.alloc(rows * dim)!;
      slot.data.set(rand(rows * dim, 30));
      // poison the padding after the input
      new Float32Array(slot.data.buffer, slot.ptr + rows * dim * 4, 4).fill(Number.NaN);
      const x = new CpuStorage(slot.data, arena, slot.ptr, slot.cap);
      const [y, rstd] = [b.alloc(rows * dim), b.alloc(rows)];
      arena.wasm.rmsnormForward(x.ptr, 0, y.ptr, rstd.ptr, rows, dim, 1e-5);
      expect(Array.from(b.downloadSync(rstd, rows)).every(Number.isFinite)).toBe(true);
      expect(Array.from(b.downloadSync(y, rows * dim)).every(Number.isFinite)).toBe(true);
      const sm = kernelCalls(b).softmax!(x, { rows, cols: dim, log: false, causalQueryLen: 0 });
      expect(Array.from(b.downloadSync(sm as CpuStorage, rows * dim)).every(Number.isFinite)).toBe(true);
      arena.release(slot.ptr, slot.cap);
    });
  });

  describe('the 2-thread arena GEMM', () => {
    // the worker is unref'd and shared by the process's 2-thread backends: nothing to stop here
    const b2 = new CpuBackend({ threads: 2 });

    it('has its own arena and gives the 1-thread results bit for bit (each C element is one thread’s sum)', async () => {
      expect(b2.arena).toBe(sharedArena(2));
      expect(b2.arena).not.toBe(sharedArena(1));
      const b1 = new CpuBackend();
      // the worker starts asynchronously
      for (let i = 0; i < 100 && !b2.arena!.gemm.stats().workerReady; i++) await new Promise((r) => setTimeout(r, 10));
      expect(b2.arena!.gemm.threads).toBe(2);
      for (const [M, K, N, ta, tb] of [
        [257, 130, 300, false, false],
        [300, 129, 257, true, false],
        [64, 512, 700, false, true],
      ] as const) {
        const A = rand(M * K, M);
        const B = rand(K * N, N);
        const p: MatmulParams = { batch: 1, M, K, N, transA: ta, transB: tb, aBatchStride: 0, bBatchStride: 0 };
        const c1 = b1.downloadSync(b1.matmul(b1.upload(A), b1.upload(B), p), M * N);
        const c2 = b2.downloadSync(b2.matmul(b2.upload(A), b2.upload(B), p), M * N);
        expect(Array.from(c2)).toEqual(Array.from(c1));
        const ref = new Float64Array(M * N);
        gemmReference(Float64Array.from(A), 0, Float64Array.from(B), 0, ref, 0, M, K, N, ta, tb);
        for (let i = 0; i < M * N; i += 97) expect(Math.abs(c1[i]! - ref[i]!)).toBeLessThan(1e-4 * K);
      }
    });

    it('reports the threads it runs and why not more (the browser cases are in tooling/browser)', async () => {
      expect(await b2.whenThreadsReady()).toEqual({ requested: 2, running: 2, state: 'running', why: '' });
      expect(b2.describeThreads()).toBe('2 GEMM threads');
      const b1 = new CpuBackend({ threads: 1 });
      expect(b1.threadInfo()).toEqual({ requested: 1, running: 1, state: 'single', why: '' });
      expect(b1.describeThreads()).toBe('1 GEMM thread');
      const noArena = new CpuBackend({ threads: 2, arena: false });
      expect(noArena.threadInfo()).toMatchObject({ requested: 2, running: 1, state: 'unavailable' });
      expect(noArena.describeThreads()).toMatch(/^1 GEMM thread \(2 requested: the wasm arena is off/);
    });
  });
});

describe('arena block sizes', () => {
  it('pad by at least 4 floats, align to 16 floats and waste at most 25% above 256 floats', () => {
    for (let n = 1; n < 100_000; n += 1 + Math.floor(n / 7)) {
      const cap = blockFloats(n);
      expect(cap).toBeGreaterThanOrEqual(n + 4);
      expect(cap % 16).toBe(0);
      if (n > 256) expect(cap).toBeLessThanOrEqual(Math.ceil((n + 4) * 1.25) + 16);
    }
  });

  it.runIf(supported)('shapes that change every call reuse freed blocks instead of growing memory', () => {
    const arena = new WasmArena({ threads: 1 });
    // decoding without a KV cache: every step allocates a little more than the last, then frees it all
    const step = (len: number) => {
      const blocks = [len * 128, len * len * 4, len * 512].map((n) => arena.alloc(n)!);
      for (const b of blocks) arena.release(b.ptr, b.cap);
    };
    for (let len = 1; len <= 64; len++) step(len);
    const after64 = arena.memoryBytes;
    for (let len = 65; len <= 256; len++) step(len);
    // one step at 256 needs about 1 MiB; exact-size free lists needed the sum over all lengths (about 45 MiB)
    expect(arena.memoryBytes - after64).toBeLessThan(8 * 2 ** 20);
  });
});

describe('defaultThreads', () => {
  it('is 2 on a host with 2+ cores, and TINYFORMER_CPU_THREADS overrides it', () => {
    const prev = process.env.TINYFORMER_CPU_THREADS;
    try {
      delete process.env.TINYFORMER_CPU_THREADS;
      const os = process.getBuiltinModule?.('node:os') as { availableParallelism(): number } | undefined;
      if (os) expect(defaultThreads()).toBe(os.availableParallelism() >= 2 ? 2 : 1);
      process.env.TINYFORMER_CPU_THREADS = '1';
      expect(defaultThreads()).toBe(1);
      process.env.TINYFORMER_CPU_THREADS = '2';
      expect(defaultThreads()).toBe(2);
      process.env.TINYFORMER_CPU_THREADS = 'many';
      expect([1, 2]).toContain(defaultThreads());
    } finally {
      if (prev === undefined) delete process.env.TINYFORMER_CPU_THREADS;
      else process.env.TINYFORMER_CPU_THREADS = prev;
    }
  });
});
