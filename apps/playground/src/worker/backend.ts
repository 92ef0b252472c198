// The one place the playground picks its backend. ?backend=cpu|gpu|auto (default auto) reaches chooseBackend; the
// GPU path is @tinyformer/backend-gpu's selectBackend on the browser's own navigator.gpu, loaded only when asked
// for (gpu.js is most of the page's weight). 'auto' takes WebGPU on a hardware adapter only, as the CLI does.
import { type Backend, CpuBackend } from '@tinyformer/tensor';
import type { BackendRequest } from '../protocol.js';

const REQUESTS: Record<BackendRequest, true> = { cpu: true, gpu: true, auto: true };

/** The ?backend= value: 'auto' when absent, and (with a note) for anything unknown. */
export function parseBackendRequest(value: string | null): { request: BackendRequest; note: string } {
  if (value === null || value === '') return { request: 'auto', note: '' };
  if (value in REQUESTS) return { request: value as BackendRequest, note: '' };
  return { request: 'auto', note: `?backend=${value} is not one of cpu, gpu, auto; ` };
}

export interface ChosenBackend {
  backend: Backend;
  /** 'cpu' or the GPU backend's name */
  name: string;
  /** one line: what was chosen and why */
  reason: string;
  /** the CPU backend's GEMM threads (`describeThreads()`), or '' for another backend */
  threads: string;
  dispose(): Promise<void>;
}

/** What a GPU loader returns: the shape of @tinyformer/backend-gpu's selectBackend result. */
export interface GpuSelection {
  backend: Backend;
  /** shown as the backend's name; default 'gpu' (class names do not survive minification) */
  name?: string;
  reason: string;
  dispose(): Promise<void>;
}

/** A GPU loader: resolves to a GPU backend, or to the reason none is used (`fallback`, worded as the CLI does). */
export type GpuLoader = (request: 'gpu' | 'auto') => Promise<GpuSelection | { fallback: string }>;

/**
 * @tinyformer/backend-gpu's selectBackend in the page: WebGPU through gpu.js on a hardware adapter ('auto'), or on
 * any adapter, the software one included ('gpu').
 */
export const BROWSER_GPU: GpuLoader = async (request) => {
  let gpu: typeof import('@tinyformer/backend-gpu');
  try {
    gpu = await import('@tinyformer/backend-gpu');
  } catch (e) {
    return { fallback: `the GPU backend could not be loaded: ${(e as Error).message}` };
  }
  try {
    const s = await gpu.selectBackend({ prefer: request, onFallback: 'warn' });
    if (s.fallback) {
      await s.dispose();
      const force = s.fallback.kind === 'software-adapter' ? '; add ?backend=gpu to use it' : '';
      return { fallback: `${s.fallback.why}${force}` };
    }
    return { backend: s.backend, name: 'gpu.js:webgpu', reason: s.reason, dispose: s.dispose };
  } catch (e) {
    return { fallback: (e as Error).message };
  }
};

/**
 * Picks the backend once, when the Worker starts. The CPU backend is awaited until its GEMM worker has started or
 * failed, so the reason names the real number of threads (2 when the page is cross-origin isolated).
 */
export async function chooseBackend(request: BackendRequest, loadGpu: GpuLoader = BROWSER_GPU): Promise<ChosenBackend> {
  let why = 'cpu (requested with ?backend=cpu)';
  if (request !== 'cpu') {
    const gpu = await loadGpu(request);
    if ('backend' in gpu) return { ...gpu, name: gpu.name ?? 'gpu', threads: '' };
    // 'auto' falling back is the normal case on a machine without a GPU; an explicit ?backend=gpu that cannot be
    // honoured says so
    why = request === 'auto' ? `cpu (${gpu.fallback})` : `cpu (?backend=gpu: ${gpu.fallback}; falling back to the CPU)`;
  }
  const cpu = new CpuBackend();
  await cpu.whenThreadsReady();
  const threads = cpu.describeThreads();
  return { backend: cpu, name: 'cpu', reason: `${why}, ${threads}`, threads, dispose: async () => {} };
}
