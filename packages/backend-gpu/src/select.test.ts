import { CpuBackend } from '@tinyformer/tensor';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GpuBackend, probeAdapter, selectBackend } from '../src/index.js';
import { inCI } from '../test/gpu-setup.js';

const adapter = await probeAdapter().catch(() => null);

afterEach(() => {
  vi.restoreAllMocks();
});

it.runIf(inCI)('has a WebGPU adapter under CI', () => {
  expect(adapter).not.toBeNull();
});

describe('selectBackend', () => {
  it("gives the CPU when asked, with the reason 'requested'", async () => {
    const s = await selectBackend({ prefer: 'cpu' });
    expect(s.backend).toBeInstanceOf(CpuBackend);
    expect(s.reason).toBe('cpu (requested)');
    await s.dispose();
  });

  it('rejects an unknown preference', async () => {
    await expect(selectBackend({ prefer: 'tpu' as 'cpu' })).rejects.toThrow(/prefer must be/);
  });

  it.runIf(adapter?.isFallbackAdapter)('auto passes over a software adapter, with the reason, and warns', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const logger = vi.fn();
    const s = await selectBackend({ prefer: 'auto', logger });
    expect(s.backend).toBeInstanceOf(CpuBackend);
    expect(s.reason).toBe('cpu (software adapter llvmpipe only)');
    expect(s.fallback).toEqual({ kind: 'software-adapter', why: 'software adapter llvmpipe only' });
    expect(s.adapterInfo?.isFallbackAdapter).toBe(true);
    expect(logger).toHaveBeenCalledExactlyOnceWith(`tinyformer: using ${s.reason}`);
    // the library never prints; the CLI's flag names belong to the CLI
    expect(warn).not.toHaveBeenCalled();
    expect(s.reason).not.toContain('--backend');
    await expect(selectBackend({ prefer: 'auto', onFallback: 'throw' })).rejects.toThrow(/software adapter llvmpipe/);
  });

  it.runIf(adapter && !adapter.isFallbackAdapter)('auto picks WebGPU on a hardware adapter', async () => {
    const s = await selectBackend({ prefer: 'auto', onFallback: 'throw' });
    try {
      expect(s.backend).toBeInstanceOf(GpuBackend);
      expect(s.reason).toMatch(/^gpu\.js:webgpu \(.+\)$/);
    } finally {
      await s.dispose();
    }
  });

  it.runIf(adapter)('gpu forces WebGPU on whatever adapter there is, and dispose releases the device', async () => {
    const s = await selectBackend({ prefer: 'gpu' });
    try {
      expect(s.backend).toBeInstanceOf(GpuBackend);
      expect(s.fallback).toBeNull();
      const expected = adapter!.isFallbackAdapter ? 'gpu.js:webgpu (llvmpipe software adapter)' : /^gpu\.js:webgpu \(/;
      expect(s.reason).toMatch(expected);
      const x = s.backend.upload(new Float32Array([1, 2]));
      expect(Array.from(await s.backend.download(s.backend.unary('square', x, 2), 2))).toEqual([1, 4]);
    } finally {
      await s.dispose();
    }
    expect((s.backend as GpuBackend).isDestroyed).toBe(true);
    expect(() => s.backend.fill(1, 0)).toThrow(/destroyed/);
  });

  it.runIf(adapter)('a device destroyed by one backend can be acquired again by the next', async () => {
    for (let i = 0; i < 2; i++) {
      const s = await selectBackend({ prefer: 'gpu' });
      const x = s.backend.fill(3, i + 1);
      expect(Array.from(await s.backend.download(x, 3))).toEqual([i + 1, i + 1, i + 1]);
      await s.dispose();
    }
  });
});
