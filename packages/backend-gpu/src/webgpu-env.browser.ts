/**
 * WebGPU in a browser: the browser's own `navigator.gpu`, and gpu.js's browser build (its package.json `browser`
 * field, a UMD file) loaded on first use. package.json's `imports` maps `#webgpu-env` here under the "browser"
 * condition, so a browser bundle holds neither Dawn nor any `node:` module (docs/gpujs-backend.md §2).
 */
import type { GpuJsModule, WebGpuEnv } from './webgpu-env.js';

let gpujsPromise: Promise<GpuJsModule> | null = null;

/**
 * Imports gpu.js, keeping the global `GPU` as it was. gpu.js's browser build defines `window.GPU` and `self.GPU`
 * as a getter for its own class whenever the existing `GPU` has no `createKernel`, which hides the browser's
 * WebGPU interface of that name; the property the page had before is put back, or the new one removed.
 */
async function importGpuJs(): Promise<GpuJsModule> {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'GPU');
  try {
    const mod = (await import('gpu.js')) as unknown as GpuJsModule & { default?: GpuJsModule };
    return mod.default ?? mod;
  } finally {
    if (saved) Object.defineProperty(globalThis, 'GPU', saved);
    else delete (globalThis as { GPU?: unknown }).GPU;
  }
}

/** The browser implementation of WebGpuEnv. */
export const env: WebGpuEnv = {
  name: 'browser',
  /** Installs nothing: resolves when the browser has `navigator.gpu`, else rejects. */
  async installNavigatorGpu(): Promise<void> {
    const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
    if (!nav?.gpu) throw new Error('no WebGPU in this browser');
  },
  loadGpuJs(): Promise<GpuJsModule> {
    gpujsPromise ??= importGpuJs();
    gpujsPromise.catch(() => {
      gpujsPromise = null;
    });
    return gpujsPromise;
  },
  noWebGpu: () => 'no WebGPU in this browser',
  noAdapter: 'no WebGPU adapter (WebGPU disabled in this browser, or no usable GPU?)',
  noAdapterError: 'no WebGPU adapter (WebGPU disabled in this browser, or no usable GPU?)',
};
