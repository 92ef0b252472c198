// The elementwise and row kernels on both GEMM threads (WasmArena.parallel, docs/cpu-simd.md §3): every chunked
// call must give exactly the bits of the same kernel run whole on one thread, and the worker must take chunks.
import { afterAll, describe, expect, it } from 'vitest';
import { UNARY_OPS } from '../../unary-ops.js';
import { WasmArena } from './wasm-arena.js';
import { wasmSimdSupported } from './wasm-module.js';
import { callChunkArgs, PARALLEL_KERNELS } from './wasm-threads.js';

const UNARY_CODES = { exp: UNARY_OPS.indexOf('exp'), gelu: UNARY_OPS.indexOf('gelu'), silu: UNARY_OPS.indexOf('silu') };

const supported = wasmSimdSupported() && typeof SharedArrayBuffer === 'function';

function fill(a: Float32Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32) * 4 - 2;
  }
}

describe.runIf(supported)('kernels on two threads', () => {
  const arena = new WasmArena({ threads: 2 });
  afterAll(() => arena.gemm.dispose());

  /** blocks for the inputs (random) and two output sets: `whole` (one thread) and `split` (both) */
  function blocks(n: number, count: number) {
    return Array.from({ length: count }, (_, i) => {
      const b = arena.alloc(n)!;
      fill(b.data, 7 + i);
      return b;
    });
  }

  it('cuts along the count, moving each pointer by its unit (rows move by the row length)', () => {
    // softmax (x, out, rows, cols, tq, log): 10 rows of 64 from chunk 2 of 5 rows
    const args = [1000, 5000, 37, 64, 0, 0];
    expect(callChunkArgs(args, PARALLEL_KERNELS.softmax, 5, 2)).toEqual([
      1000 + 10 * 256,
      5000 + 10 * 256,
      5,
      64,
      0,
      0,
    ]);
    // the last chunk is short
    expect(callChunkArgs(args, PARALLEL_KERNELS.softmax, 5, 7)[2]).toBe(2);
    // unary (op, x, out, n): the op code stays
    expect(callChunkArgs([3, 64, 128, 100], PARALLEL_KERNELS.unary, 32, 1)).toEqual([3, 64 + 128, 128 + 128, 32]);
  });

  it('gives the same bits as one thread for every kernel it cuts', async () => {
    for (let i = 0; i < 500 && arena.gemm.threadInfo().state === 'starting'; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(arena.gemm.threadInfo().running).toBe(2);
    const n = 300_001; // off every chunk multiple
    const [x, y, z] = blocks(n, 3);
    // three outputs for the chunked call, three for the whole one
    const outs = blocks(n, 6);
    const check = (name: string, run: (out: number[]) => void) => {
      for (const o of outs) o.data.fill(0);
      run(outs.slice(0, 3).map((o) => o.ptr));
      // the same call on one thread, through the plain export
      run(outs.slice(3).map((o) => -1 - o.ptr)); // negative: marks the whole-kernel path below
      for (const k of [0, 1, 2]) {
        const a = outs[k]!.data;
        const b = outs[k + 3]!.data;
        for (let i = 0; i < n; i++)
          if (!Object.is(a[i], b[i])) expect.fail(`${name}: output ${k}[${i}] ${a[i]} vs ${b[i]}`);
      }
    };
    const call = (name: Parameters<WasmArena['parallel']>[0], args: number[]) => {
      if (args.some((a) => a < 0)) {
        (arena.wasm[name] as (...a: number[]) => void)(...args.map((a) => (a < 0 ? -1 - a : a)));
      } else {
        arena.parallel(name, ...args);
      }
    };
    const before = arena.gemm.stats().workerRanCalls;
    for (const code of [UNARY_CODES.exp, UNARY_CODES.gelu, UNARY_CODES.silu]) {
      check(`unary ${code}`, ([o]) => call('unary', [code, x!.ptr, o!, n]));
      check(`unaryMul ${code}`, ([o]) => call('unaryMul', [code, x!.ptr, y!.ptr, o!, n]));
    }
    check('swiglu', ([o]) => call('swiglu', [x!.ptr, y!.ptr, o!, n]));
    check('swigluBackward', ([o, p]) => call('swigluBackward', [x!.ptr, y!.ptr, z!.ptr, o!, p!, n]));
    // AdamW updates in place: start both copies of the parameter and moments from the same values
    check('adamw', ([p, m]) => {
      const pp = p! < 0 ? -1 - p! : p!;
      const mm = m! < 0 ? -1 - m! : m!;
      arena.view(pp, n).set(x!.data);
      arena.view(mm, n).set(y!.data.map(Math.abs));
      const v = arena.alloc(n)!;
      v.data.set(z!.data.map(Math.abs));
      call('adamw', [p!, y!.ptr, m!, v.ptr, n, 0.9, 0.1, 0.99, 0.01, 1e-3, 1.2, 1e-8, 0.9999, 0.5]);
      arena.release(v.ptr, v.cap);
    });
    // causal softmax: 47 (batch x heads) x 50 queries of 64 keys (a KV cache's shape), forward, log form and
    // backward; the mask repeats every 50 rows, so a chunk must start on a multiple of 50 (4 chunks of 588 would not)
    const rows = 47 * 50;
    for (const log of [0, 1]) {
      check(`softmax log=${log}`, ([o]) => call('softmax', [x!.ptr, o!, rows, 64, 50, log]));
      check(`softmaxBackward log=${log}`, ([o]) => call('softmaxBackward', [y!.ptr, z!.ptr, o!, rows, 64, 50, log]));
    }
    // norms: 2000 rows of 128, the per-row statistics in their own outputs
    check('rmsnormForward', ([o, r]) => call('rmsnormForward', [x!.ptr, y!.ptr, o!, r!, 2000, 128, 1e-5]));
    check('layernormForward', ([o, m, r]) =>
      call('layernormForward', [x!.ptr, y!.ptr, z!.ptr, o!, m!, r!, 2000, 128, 1e-5]),
    );
    // attention's head split and merge: packed [12, 64, 3, 4, 32] <-> part q of [12, 4, 64, 32], cut along the batch
    for (const q of [0, 2]) {
      check(`heads split q=${q}`, ([o]) => call('heads', [x!.ptr, o!, 12, 64, 4, 32, 3, q, 1]));
      check(`heads merge q=${q}`, ([o]) => call('heads', [o!, x!.ptr, 12, 64, 4, 32, 3, q, 0]));
    }
    // RoPE on [48, 64, 32] from position 5, tables of 80 positions x 16 (y and z), and its inverse (-sin)
    for (const ss of [1, -1]) {
      check(`rope ss=${ss}`, ([o]) => call('rope', [x!.ptr, o!, y!.ptr, z!.ptr, 48, 64, 32, 5, 1, ss]));
    }
    const st = arena.gemm.stats();
    expect(st.parallelCalls).toBeGreaterThan(0);
    expect(st.workerRanCalls).toBeGreaterThan(before);
  });

  it('runs small calls whole on this thread', () => {
    const before = arena.gemm.stats().parallelCalls;
    const [x, o] = blocks(1000, 2);
    arena.parallel('unary', UNARY_CODES.exp, x!.ptr, o!.ptr, 1000);
    expect(arena.gemm.stats().parallelCalls).toBe(before);
    expect(o!.data[5]).toBeCloseTo(Math.exp(x!.data[5]!), 5);
  });
});
