import { CpuBackend } from '@tinyformer/tensor';
import { describe, expect, it, vi } from 'vitest';
import { chooseBackend } from '../src/backend.js';

/** What a CPU backend built with the defaults appends: how many GEMM threads run. */
const threads = `, ${await new CpuBackend().whenThreadsReady().then(() => new CpuBackend().describeThreads())}`;

/** A stand-in for @tinyformer/backend-gpu whose selectBackend falls back to the CPU for the given reason. */
function gpuFallingBack(kind: string, why: string) {
  const selectBackend = vi.fn(async () => ({
    backend: new CpuBackend(),
    reason: `cpu (${why})`,
    fallback: { kind, why },
    dispose: async () => {},
  }));
  return { selectBackend, load: async () => ({ selectBackend }) };
}

describe('chooseBackend', () => {
  it('adds the CLI flag that forces a software adapter to the library reason, and prints nothing itself', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const gpu = gpuFallingBack('software-adapter', 'software adapter llvmpipe only');
    const chosen = await chooseBackend('auto', gpu.load);
    expect(chosen.reason).toBe(`cpu (software adapter llvmpipe only; pass --backend gpu to force)${threads}`);
    expect(chosen.backend).toBeInstanceOf(CpuBackend);
    expect(gpu.selectBackend).toHaveBeenCalledWith({ prefer: 'auto', onFallback: 'warn' });
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it('says how many GEMM threads the CPU backend runs', () => {
    expect(threads).toMatch(/^, [12] GEMM threads?/);
  });

  it('passes any other reason through unchanged', async () => {
    const gpu = gpuFallingBack('no-adapter', 'no WebGPU adapter (Vulkan ICD missing?)');
    expect((await chooseBackend('auto', gpu.load)).reason).toBe(
      `cpu (no WebGPU adapter (Vulkan ICD missing?))${threads}`,
    );
  });

  it('names the flag when the package is missing or the CPU was asked for', async () => {
    const missing = async () => {
      throw new Error('Cannot find package');
    };
    expect((await chooseBackend('auto', missing)).reason).toBe(
      `cpu (the @tinyformer/backend-gpu package is not installed)${threads}`,
    );
    await expect(chooseBackend('gpu', missing)).rejects.toThrow(/^--backend gpu: the @tinyformer\/backend-gpu/);
    expect((await chooseBackend('cpu')).reason).toBe(`cpu (requested with --backend cpu)${threads}`);
  });
});
