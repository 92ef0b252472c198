// src/worker/backend.ts outside a browser: the CPU backend works in Node too, so the choice and its reasons are
// checked here without Chromium.
import { CpuBackend } from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { chooseBackend, type GpuLoader, parseBackendRequest } from '../src/worker/backend.js';

describe('the backend choice', () => {
  it('reads ?backend=cpu|gpu|auto and falls back to cpu, with a note, for anything else', () => {
    expect(parseBackendRequest(null)).toEqual({ request: 'auto', note: '' });
    expect(parseBackendRequest('auto')).toEqual({ request: 'auto', note: '' });
    expect(parseBackendRequest('gpu')).toEqual({ request: 'gpu', note: '' });
    expect(parseBackendRequest('tpu').note).toMatch(/\?backend=tpu is not one of cpu, gpu, auto/);
  });

  it("cpu names its GEMM threads; gpu and auto fall back to the CPU with the loader's reason", async () => {
    const cpu = await chooseBackend('cpu');
    expect(cpu.backend).toBeInstanceOf(CpuBackend);
    expect(cpu.reason).toBe(`cpu (requested with ?backend=cpu), ${cpu.threads}`);
    expect(cpu.threads).toMatch(/^\d GEMM threads?/);
    const none: GpuLoader = async () => ({ fallback: 'no WebGPU adapter (a test)' });
    const auto = await chooseBackend('auto', none);
    expect(auto.name).toBe('cpu');
    expect(auto.reason).toBe(`cpu (no WebGPU adapter (a test)), ${auto.threads}`);
    const gpu = await chooseBackend('gpu', none);
    expect(gpu.reason).toBe(`cpu (?backend=gpu: no WebGPU adapter (a test); falling back to the CPU), ${gpu.threads}`);
  });

  it('uses what a GPU loader returns', async () => {
    const backend = new CpuBackend();
    const loader: GpuLoader = async () => ({ backend, reason: 'gpu (a test adapter)', dispose: async () => {} });
    const chosen = await chooseBackend('auto', loader);
    expect(chosen.backend).toBe(backend);
    expect(chosen.reason).toBe('gpu (a test adapter)');
    expect(chosen.name).toBe('gpu');
  });
});
