// A Vulkan loader pointed at no driver: Dawn finds no adapter (docs/gpujs-backend.md §4 no. 18).
// Set before Dawn loads.
process.env.VK_ICD_FILENAMES = '/nonexistent/icd.json';

import { CpuBackend } from '@tinyformer/tensor';
import { describe, expect, it, vi } from 'vitest';
import { createGpuBackend, selectBackend } from '../src/index.js';

describe('selectBackend without a WebGPU adapter', () => {
  it('auto falls back to the CPU and says why, through the logger only', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const logger = vi.fn();
    const s = await selectBackend({ logger });
    expect(s.backend).toBeInstanceOf(CpuBackend);
    expect(s.reason).toBe('cpu (no WebGPU adapter (Vulkan ICD missing?))');
    expect(s.fallback).toEqual({ kind: 'no-adapter', why: 'no WebGPU adapter (Vulkan ICD missing?)' });
    expect(logger).toHaveBeenCalledExactlyOnceWith(`tinyformer: using ${s.reason}`);
    // a library never prints, with or without a logger
    await selectBackend();
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it("'gpu' and onFallback 'throw' fail with a clear error", async () => {
    await expect(selectBackend({ prefer: 'gpu' })).rejects.toThrow(
      'WebGPU backend requested but unavailable: no WebGPU adapter (Vulkan ICD missing?)',
    );
    await expect(selectBackend({ onFallback: 'throw' })).rejects.toThrow(/not falling back to the CPU/);
    await expect(createGpuBackend({ allowSoftware: true })).rejects.toThrow(/no WebGPU adapter/);
  });
});
