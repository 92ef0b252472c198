/**
 * Paths the conformance suite's small shapes do not reach: dims split to fit the dispatch grid (forced here by
 * lowering gridLimits), chunked reductions, scatterAdd over indices that live only on the device, many-part
 * concat, and the device-side handling of invalid indices. Each result is compared with the CPU backend.
 */
import { type Backend, CpuBackend, kernelCalls, Rng, type Storage } from '@tinyformer/tensor';
import '../src/index.js';
import { normCalls } from '@tinyformer/norm/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { GpuBackend } from '../src/index.js';
import { inCI, setUpGpu } from '../test/gpu-setup.js';

const { backend: gpu, error } = await setUpGpu('edges');
const defaultLimits = gpu ? { ...gpu.gridLimits } : null;
afterEach(() => {
  if (gpu && defaultLimits) gpu.gridLimits = { ...defaultLimits };
});
afterAll(async () => {
  await gpu?.destroy();
});

it.runIf(inCI)('has a WebGPU adapter under CI', () => {
  expect(error).toBeNull();
});

// seen through the Backend interface: the storages these tests pass around are opaque
const cpu: Backend & { downloadSync(s: Storage, n: number): Float32Array } = new CpuBackend();

function values(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1);
}

/** Runs fn on both backends with the same inputs and compares (atol scaled by the values' magnitude). */
async function same(inputs: Float32Array[], size: number, fn: (b: Backend, xs: Storage[]) => Storage, atol = 1e-6) {
  const g = gpu as GpuBackend;
  const start = g.memory().buffers;
  const gs = inputs.map((v) => g.upload(v));
  const cs = inputs.map((v) => cpu.upload(v));
  const go = fn(g, gs);
  const want = cpu.downloadSync(fn(cpu, cs), size);
  const got = await g.download(go, size);
  expect(got.length).toBe(want.length);
  for (let i = 0; i < size; i++) {
    const tol = atol * Math.max(1, Math.abs(want[i]!));
    if (!(Math.abs(got[i]! - want[i]!) <= tol)) {
      throw new Error(`[${i}] got ${got[i]}, expected ${want[i]} (of ${size})`);
    }
  }
  for (const s of [...gs, go]) g.dispose(s);
  expect(g.memory().buffers).toBe(start);
}

describe.skipIf(!gpu)('gpu.js:webgpu edge paths', () => {
  it('binary broadcasting, permute, slice, pad and concat with dims split to fit a tiny grid', async () => {
    gpu!.gridLimits = { xy: 16, z: 8 };
    const a = values(1, 2 * 64 * 3);
    const b = values(2, 64 * 1);
    await same([a, b], 384, (k, [x, y]) => k.binary('mul', x!, [2, 64, 3], y!, [64, 1], [2, 64, 3]));
    await same([a], 384, (k, [x]) => k.permute(x!, [2, 64, 3], [2, 0, 1]));
    await same([a], 2 * 40 * 3, (k, [x]) => k.slice(x!, [2, 64, 3], [0, 16, 0], [2, 40, 3]));
    await same([values(3, 2 * 32 * 3)], 384, (k, [x]) => k.pad(x!, [2, 32, 3], [0, 16, 0], [2, 64, 3]));
    await same([values(4, 2 * 48 * 3), values(5, 2 * 16 * 3)], 384, (k, [x, y]) =>
      k.concat(
        [x!, y!],
        [
          [2, 48, 3],
          [2, 16, 3],
        ],
        1,
      ),
    );
  });

  it('throws a clear error for a shape that cannot be split onto the grid', () => {
    const g = gpu!;
    g.gridLimits = { xy: 16, z: 8 };
    const x = g.upload(values(6, 97 * 2));
    expect(() => g.permute(x, [97, 2], [1, 0])).toThrow(/dispatch grid/);
    g.dispose(x);
  });

  it('reduces long axes in chunks (sum and max; inner 1 and inner > 1; o or p on z)', async () => {
    const x = values(7, 3 * 5000);
    for (const op of ['sum', 'max'] as const) {
      await same([x], 3, (k, [s]) => k.reduce(op, s!, 3, 5000, 1), 2e-5);
      await same([x], 6, (k, [s]) => k.reduce(op, s!, 1, 2500, 6), 2e-5);
      await same([x], 15, (k, [s]) => k.reduce(op, s!, 3, 1000, 5), 2e-5);
    }
    // outer > z: the chunk index p goes on z instead
    gpu!.gridLimits = { xy: 64, z: 4 };
    await same([x], 12, (k, [s]) => k.reduce('sum', s!, 6, 1000, 2), 2e-5);
  });

  it('sums norm weight gradients over many rows in chunks', async () => {
    const rows = 1200;
    const dim = 8;
    const x = values(8, rows * dim);
    const dy = values(9, rows * dim);
    const g = values(10, dim);
    const rstd = Float32Array.from({ length: rows }, (_, i) => 1 + (i % 7) / 10);
    const mean = Float32Array.from({ length: rows }, (_, i) => (i % 5) / 10);
    await same(
      [dy, x, g, mean, rstd],
      dim,
      (k, [d, xx, gg, m, r]) => {
        const out = normCalls(k).layernormBackward!(d!, xx!, gg!, m!, r!, rows, dim, true);
        k.dispose(out.dx);
        k.dispose(out.db!);
        return out.dg!;
      },
      1e-4,
    );
  });

  it('scatterAdd and gather work with indices that exist only on the device', async () => {
    const g = gpu!;
    const n = 50;
    const vocab = 7;
    const dim = 5;
    const idxHost = Float32Array.from({ length: n }, (_, i) => (i * 3) % vocab);
    const src = values(11, n * dim);
    const table = values(12, vocab * dim);
    // indices computed on the device (idx + 0): no host copy, so the scanning kernel runs
    const run = (k: Backend) => {
      const idx0 = k.upload(idxHost);
      const zero = k.fill(1, 0);
      const idx = k.binary('add', idx0, [n], zero, [1], [n]);
      const sa = k.scatterAdd(k.upload(src), n, dim, idx, vocab);
      const ga = k.gather(k.upload(table), vocab, dim, idx, n);
      return { sa, ga };
    };
    const got = run(g);
    const want = run(cpu);
    const [gs, gg] = [await g.download(got.sa, vocab * dim), await g.download(got.ga, n * dim)];
    const [cs, cg] = [cpu.downloadSync(want.sa, vocab * dim), cpu.downloadSync(want.ga, n * dim)];
    for (let i = 0; i < cs.length; i++) expect(Math.abs(gs[i]! - cs[i]!)).toBeLessThan(1e-5);
    expect(Array.from(gg)).toEqual(Array.from(cg));
  });

  it('marks invalid device-side indices: NaN rows in gather, loss 0 for ignored (negative) targets', async () => {
    const g = gpu!;
    const idx = g.binary('sub', g.upload(new Float32Array([0, 1, 2])), [3], g.fill(1, 1), [1], [3]); // [-1, 0, 1]
    const table = g.upload(new Float32Array([1, 2, 3, 4]));
    const rows = await g.download(g.gather(table, 2, 2, idx, 3), 6);
    expect(Number.isNaN(rows[0]!)).toBe(true);
    expect(Array.from(rows.slice(2))).toEqual([1, 2, 3, 4]);
    const logits = g.upload(new Float32Array([0, 0, 0, 0, 0, 0]));
    const loss = await g.download(kernelCalls(g).crossEntropy!(logits, idx, 3, 2), 3);
    expect(loss[0]).toBe(0);
    expect(loss[1]).toBeCloseTo(Math.log(2), 6);
    const dl = await g.download(kernelCalls(g).crossEntropyBackward!(logits, idx, g.fill(1, 1), 3, 2), 6);
    expect(Array.from(dl)).toEqual([0, 0, -0.5, 0.5, 0.5, -0.5]);
  });

  it('validates host-known indices synchronously, like the CPU backend', () => {
    const g = gpu!;
    const idx = g.upload(new Float32Array([0, 5]));
    const table = g.upload(new Float32Array(8));
    expect(() => g.gather(table, 4, 2, idx, 2)).toThrow(/outside \[0, 4\)/);
    expect(() => g.scatterAdd(table, 2, 2, idx, 4)).toThrow(/outside \[0, 4\)/);
    expect(() => kernelCalls(g).crossEntropy!(table, idx, 2, 4)).toThrow(/outside \[0, 4\)/);
  });

  it('refuses an upload larger than the device can bind, synchronously', () => {
    // 8 GiB: past any device's binding limit (Vulkan ranges are 32-bit); only the length is read before the check
    const huge = { length: 2 ** 31 } as unknown as Float32Array;
    expect(() => gpu!.upload(huge)).toThrow(/binds at most/);
  });

  it('concatenates many parts and large values exactly', async () => {
    const parts = Array.from({ length: 9 }, (_, t) => values(20 + t, 3 * (t + 1) * 2));
    const shapes = parts.map((_, t) => [3, t + 1, 2]);
    const total = parts.reduce((a, p) => a + p.length, 0);
    await same(parts, total, (k, xs) => k.concat(xs, shapes, 1), 0);
  });

  it('handles extreme unary inputs without NaN (tanh/gelu clamp, exp overflow)', async () => {
    const g = gpu!;
    const x = g.upload(new Float32Array([-100, -20, 20, 100]));
    expect(Array.from(await g.download(g.unary('tanh', x, 4), 4))).toEqual([-1, -1, 1, 1]);
    expect(Array.from(await g.download(g.unary('gelu', x, 4), 4))).toEqual([-0, -0, 20, 100]);
    const sig = await g.download(g.unary('sigmoid', x, 4), 4);
    expect(Array.from(sig)).toEqual([0, sig[1], 1, 1]);
    expect(sig[1]).toBeCloseTo(2.0611536e-9, 15);
    expect(Array.from(await g.download(g.unary('exp', x, 4), 4))[3]).toBe(Number.POSITIVE_INFINITY);
  });
});
