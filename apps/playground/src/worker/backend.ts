// The one place the playground picks its backend. ?backend=cpu|gpu|auto reaches chooseBackend; the GPU path is a
// loader the caller passes (`loadGpu`), to be wired to @tinyformer/backend-gpu's browser selectBackend once that
// package is browser-safe. Until then 'gpu' and 'auto' run on the CPU and the reason says so.
import { type Backend, CpuBackend } from '@tinyformer/tensor';
import type { BackendRequest } from '../protocol.js';

const REQUESTS: Record<BackendRequest, true> = { cpu: true, gpu: true, auto: true };

/** The ?backend= value, or 'cpu' (with a note) for anything else. */
export function parseBackendRequest(value: string | null): { request: BackendRequest; note: string } {
  if (value === null || value === '') return { request: 'cpu', note: '' };
  if (value in REQUESTS) return { request: value as BackendRequest, note: '' };
  return { request: 'cpu', note: `?backend=${value} is not one of cpu, gpu, auto; ` };
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

/**
 * A GPU loader: resolves to a GPU backend, or to null with the reason none is used. The default has none yet:
 * @tinyformer/backend-gpu is not browser-safe yet (its gpu.js import pulls Node's Dawn binding).
 */
export type GpuLoader = (request: 'gpu' | 'auto') => Promise<GpuSelection | { fallback: string }>;

export const NO_GPU_YET: GpuLoader = async () => ({
  fallback: 'the playground has no GPU backend yet (@tinyformer/backend-gpu is not wired into the page)',
});

/**
 * Picks the backend once, when the Worker starts. The CPU backend is awaited until its GEMM worker has started or
 * failed, so the reason names the real number of threads (2 when the page is cross-origin isolated).
 */
export async function chooseBackend(request: BackendRequest, loadGpu: GpuLoader = NO_GPU_YET): Promise<ChosenBackend> {
  let why = 'cpu (requested with ?backend=cpu)';
  if (request !== 'cpu') {
    const gpu = await loadGpu(request);
    if ('backend' in gpu) return { ...gpu, name: gpu.name ?? 'gpu', threads: '' };
    why = `cpu (?backend=${request}: ${gpu.fallback}; falling back to the CPU)`;
  }
  const cpu = new CpuBackend();
  await cpu.whenThreadsReady();
  const threads = cpu.describeThreads();
  return { backend: cpu, name: 'cpu', reason: `${why}, ${threads}`, threads, dispose: async () => {} };
}
