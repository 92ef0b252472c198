import { type Backend, CpuBackend } from '@tinyformer/tensor';
import { createGpuBackend, type GpuBackend } from './gpu-backend.js';
import { type AdapterInfo, adapterLabel, probeAdapter } from './webgpu-env.js';

export type BackendPreference = 'auto' | 'cpu' | 'gpu';

export interface SelectBackendOptions {
  /** 'auto' (default): WebGPU on a hardware adapter, else the CPU; 'gpu': WebGPU even on a software adapter */
  prefer?: BackendPreference;
  /** what 'auto' does when it falls back to the CPU: print the reason (default) or throw it */
  onFallback?: 'warn' | 'throw';
}

export interface SelectedBackend {
  backend: Backend;
  /** e.g. 'gpu.js:webgpu (llvmpipe software adapter)' or 'cpu (no WebGPU adapter (Vulkan ICD missing?))' */
  reason: string;
  /** the adapter, when one was found */
  adapterInfo: AdapterInfo | null;
  /** destroys the WebGPU device (so Node can exit); a no-op for the CPU */
  dispose(): Promise<void>;
}

/**
 * Picks the backend once, at start-up, and says why. Never switches later.
 * - 'cpu': the CPU backend (reason 'cpu (requested)').
 * - 'auto': gpu.js on WebGPU when Dawn finds a hardware adapter; otherwise the CPU backend with the reason
 *   (no webgpu package, no adapter, or only the llvmpipe software adapter, which is no faster than the CPU).
 * - 'gpu': gpu.js on WebGPU on any adapter, software included; throws a clear error when there is none.
 */
export async function selectBackend(opts: SelectBackendOptions = {}): Promise<SelectedBackend> {
  const prefer = opts.prefer ?? 'auto';
  const onFallback = opts.onFallback ?? 'warn';
  if (prefer !== 'auto' && prefer !== 'cpu' && prefer !== 'gpu') {
    throw new Error(`selectBackend: prefer must be 'auto', 'cpu' or 'gpu', got '${String(prefer)}'`);
  }
  if (prefer === 'cpu') return cpu('requested', null);

  let info: AdapterInfo | null = null;
  let why: string;
  try {
    info = await probeAdapter();
  } catch (e) {
    why = `no webgpu package: ${(e as Error).message}`;
    return fallback(prefer, onFallback, why, null);
  }
  if (!info) return fallback(prefer, onFallback, 'no WebGPU adapter (Vulkan ICD missing?)', null);
  if (info.isFallbackAdapter && prefer === 'auto') {
    why = `software adapter ${adapterLabel(info)} only; pass --backend gpu to force`;
    return fallback(prefer, onFallback, why, info);
  }
  let backend: GpuBackend;
  try {
    backend = await createGpuBackend({ allowSoftware: true });
  } catch (e) {
    return fallback(prefer, onFallback, `gpu.js:webgpu failed to start: ${(e as Error).message}`, info);
  }
  const kind = backend.adapterInfo.isFallbackAdapter ? 'software adapter' : backend.adapterInfo.vendor || 'adapter';
  return {
    backend,
    reason: `${backend.name} (${adapterLabel(backend.adapterInfo)} ${kind})`,
    adapterInfo: backend.adapterInfo,
    dispose: () => backend.destroy(),
  };
}

function cpu(why: string, info: AdapterInfo | null): SelectedBackend {
  return { backend: new CpuBackend(), reason: `cpu (${why})`, adapterInfo: info, dispose: async () => {} };
}

function fallback(
  prefer: BackendPreference,
  onFallback: 'warn' | 'throw',
  why: string,
  info: AdapterInfo | null,
): SelectedBackend {
  if (prefer === 'gpu') throw new Error(`WebGPU backend requested but unavailable: ${why}`);
  if (onFallback === 'throw') throw new Error(`WebGPU backend unavailable, not falling back to the CPU: ${why}`);
  const selected = cpu(why, info);
  console.warn(`tinyformer: using ${selected.reason}`);
  return selected;
}
