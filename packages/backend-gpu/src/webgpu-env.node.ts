/**
 * WebGPU in Node: `navigator.gpu` from Dawn (the `webgpu` package), and gpu.js's CommonJS build. package.json's
 * `imports` maps `#webgpu-env` here for every condition but "browser" (docs/gpujs-backend.md §2).
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import type { GpuJsModule, WebGpuEnv } from './webgpu-env.js';

const require = createRequire(import.meta.url);

let navigatorPromise: Promise<void> | null = null;

/** The Node implementation of WebGpuEnv. */
export const env: WebGpuEnv = {
  name: 'node',
  /**
   * Installs `navigator.gpu` (and the WebGPU globals such as GPUBufferUsage) from Dawn, once per process.
   * XDG_RUNTIME_DIR must be set before Dawn loads or it warns on every start; any writable directory will do.
   * Throws when the `webgpu` package or its native binary cannot be loaded.
   */
  installNavigatorGpu(): Promise<void> {
    navigatorPromise ??= (async () => {
      const g = globalThis as { navigator?: { gpu?: unknown } };
      if (g.navigator?.gpu) return; // someone installed it already
      process.env.XDG_RUNTIME_DIR ??= os.tmpdir();
      const { create, globals } = await import('webgpu');
      Object.assign(globalThis, globals);
      // Node 21+ has a read-only navigator getter: redefine rather than assign
      Object.defineProperty(globalThis, 'navigator', {
        value: { ...(g.navigator ?? {}), gpu: create([]) },
        configurable: true,
        writable: true,
      });
    })();
    navigatorPromise.catch(() => {
      navigatorPromise = null;
    });
    return navigatorPromise;
  },
  /**
   * gpu.js is CommonJS and never imports `webgpu` itself (docs/gpujs-backend.md §4 no. 18); loading it early is
   * harmless.
   */
  loadGpuJs(): Promise<GpuJsModule> {
    return Promise.resolve(require('gpu.js') as GpuJsModule);
  },
  noWebGpu: (error) => `no webgpu package: ${error.message}`,
  noAdapter: 'no WebGPU adapter (Vulkan ICD missing?)',
  noAdapterError: 'no WebGPU adapter (Vulkan ICD missing? run tooling/scripts/install-lavapipe.sh)',
};
