import { type Backend, CpuBackend } from '@tinyformer/tensor';
import { createGpuBackend, type GpuBackend } from './gpu-backend.js';
import { type AdapterInfo, adapterLabel, envText, isSoftwareAdapter, probeAdapter } from './webgpu-env.js';

/** Which backend selectBackend should pick: 'auto', 'cpu' or 'gpu'. */
export type BackendPreference = 'auto' | 'cpu' | 'gpu';

/** Options of selectBackend. */
export interface SelectBackendOptions {
  /** 'auto' (default): WebGPU on a hardware adapter, else the CPU; 'gpu': WebGPU even on a software adapter */
  prefer?: BackendPreference;
  /** what 'auto' does when it falls back to the CPU: go on and tell `logger` (default), or throw the reason */
  onFallback?: 'warn' | 'throw';
  /**
   * Receives the warning when 'auto' falls back to the CPU (the same text as `reason`, prefixed 'tinyformer: using').
   * The library itself never prints; without a logger the reason is only returned.
   */
  logger?: (message: string) => void;
}

/**
 * Why 'auto' took the CPU: no webgpu package (in a browser: no WebGPU in the browser), no adapter, only a software
 * adapter, or the device failed to start.
 */
export type FallbackKind = 'no-package' | 'no-adapter' | 'software-adapter' | 'start-failed';

/** What selectBackend chose, and why. */
export interface SelectedBackend {
  /** the backend to use (pass it to setBackend) */
  backend: Backend;
  /** e.g. 'gpu.js:webgpu (llvmpipe software adapter)' or 'cpu (no WebGPU adapter (Vulkan ICD missing?))' */
  reason: string;
  /** set when 'auto' fell back to the CPU: the kind, and the bare why (`reason` is `cpu (<why>)`) */
  fallback: { kind: FallbackKind; why: string } | null;
  /** the adapter, when one was found */
  adapterInfo: AdapterInfo | null;
  /** destroys the WebGPU device (so Node can exit); a no-op for the CPU */
  dispose(): Promise<void>;
}

/**
 * Picks the backend once, at start-up, and says why. Never switches later, and never prints: the reason is
 * returned, and a fallback warning goes to `opts.logger` when one is given.
 * - 'cpu': the CPU backend (reason 'cpu (requested)').
 * - 'auto': gpu.js on WebGPU when there is a hardware adapter (Dawn's in Node, the browser's own in a browser);
 *   otherwise the CPU backend with the reason (no webgpu package or no WebGPU in the browser, no adapter, or only
 *   a software adapter such as llvmpipe or SwiftShader, which is no faster than the CPU; pass `prefer: 'gpu'` to
 *   use it anyway).
 * - 'gpu': gpu.js on WebGPU on any adapter, software included; throws a clear error when there is none.
 *
 * @param opts - the preference, what to do on a fallback, and where a fallback warning goes
 * @returns the backend, the reason it was chosen, the fallback kind (or null) and a dispose function
 * @throws Error when `prefer` is unknown, when 'gpu' finds no usable adapter, or when 'auto' would fall back and
 *   `onFallback` is 'throw'
 *
 * @example
 * ```ts
 * const { backend, reason, dispose } = await selectBackend({ prefer: 'auto', logger: console.warn });
 * setBackend(backend);
 * console.log(`backend: ${reason}`);
 * // ... train ...
 * await dispose();
 * ```
 */
export async function selectBackend(opts: SelectBackendOptions = {}): Promise<SelectedBackend> {
  const prefer = opts.prefer ?? 'auto';
  const onFallback = opts.onFallback ?? 'warn';
  const fallback = (kind: FallbackKind, why: string, info: AdapterInfo | null) =>
    fallBack(prefer, onFallback, opts.logger, kind, why, info);
  if (prefer !== 'auto' && prefer !== 'cpu' && prefer !== 'gpu') {
    throw new Error(`selectBackend: prefer must be 'auto', 'cpu' or 'gpu', got '${String(prefer)}'`);
  }
  if (prefer === 'cpu') return cpu('requested', null, null);

  let info: AdapterInfo | null = null;
  let why: string;
  try {
    info = await probeAdapter();
  } catch (e) {
    why = envText.noWebGpu(e as Error);
    return fallback('no-package', why, null);
  }
  if (!info) return fallback('no-adapter', envText.noAdapter, null);
  if (isSoftwareAdapter(info) && prefer === 'auto') {
    return fallback('software-adapter', `software adapter ${adapterLabel(info)} only`, info);
  }
  let backend: GpuBackend;
  try {
    backend = await createGpuBackend({ allowSoftware: true });
  } catch (e) {
    return fallback('start-failed', `gpu.js:webgpu failed to start: ${(e as Error).message}`, info);
  }
  const kind = isSoftwareAdapter(backend.adapterInfo) ? 'software adapter' : backend.adapterInfo.vendor || 'adapter';
  return {
    backend,
    reason: `${backend.name} (${adapterLabel(backend.adapterInfo)} ${kind})`,
    fallback: null,
    adapterInfo: backend.adapterInfo,
    dispose: () => backend.destroy(),
  };
}

function cpu(why: string, fallback: SelectedBackend['fallback'], info: AdapterInfo | null): SelectedBackend {
  return { backend: new CpuBackend(), reason: `cpu (${why})`, fallback, adapterInfo: info, dispose: async () => {} };
}

function fallBack(
  prefer: BackendPreference,
  onFallback: 'warn' | 'throw',
  logger: ((message: string) => void) | undefined,
  kind: FallbackKind,
  why: string,
  info: AdapterInfo | null,
): SelectedBackend {
  if (prefer === 'gpu') throw new Error(`WebGPU backend requested but unavailable: ${why}`);
  if (onFallback === 'throw') throw new Error(`WebGPU backend unavailable, not falling back to the CPU: ${why}`);
  const selected = cpu(why, { kind, why }, info);
  logger?.(`tinyformer: using ${selected.reason}`);
  return selected;
}
