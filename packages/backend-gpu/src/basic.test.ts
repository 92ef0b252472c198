import { CpuBackend } from '@tinyformer/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { inCI, setUpGpu } from '../test/gpu-setup.js';

const { backend: gpu, error } = await setUpGpu('basic');
afterAll(async () => {
  await gpu?.destroy();
});

it.runIf(inCI)('has a WebGPU adapter under CI', () => {
  expect(error).toBeNull();
});

describe.skipIf(!gpu)('GpuBackend basics', () => {
  it('reports the adapter', () => {
    expect(gpu!.name).toBe('gpu.js:webgpu');
    expect(typeof gpu!.adapterInfo.isFallbackAdapter).toBe('boolean');
  });

  it('round-trips an upload and runs a chain of ops like the CPU', async () => {
    const g = gpu!;
    const cpu = new CpuBackend();
    const x = new Float32Array([1, -2, 3, 4, 5, -6]);
    expect(await g.download(g.upload(x), 6)).toEqual(x);
    const mm = { batch: 1, M: 2, K: 3, N: 2, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0 };
    const a = g.upload(x);
    const got = await g.download(g.matmul(a, a, mm), 4);
    expect(Array.from(got)).toEqual(Array.from(cpu.downloadSync(cpu.matmul(cpu.upload(x), cpu.upload(x), mm), 4)));
  });
});
