/**
 * Loading Dawn (the `webgpu` package) and gpu.js, and the small typed surface of gpu.js internals this backend
 * relies on. gpu.js 2.24.1 ships no types for its WebGPU classes, so they are declared here; the package pins
 * gpu.js exactly because `kernel.outputBuffer`, `kernel.run` and `kernel.built` are internal fields.
 */
import { createRequire } from 'node:module';
import os from 'node:os';

/** What a WebGPU adapter says about itself. */
export interface AdapterInfo {
  /** the vendor ('' when not reported) */
  vendor: string;
  /** a description of the device */
  description: string;
  /** the device's architecture */
  architecture: string;
  /** true for a software adapter (lavapipe/llvmpipe) */
  isFallbackAdapter: boolean;
}

/** A gpu.js WebGPUBufferResult: a refcounted GPUBuffer plus the logical output dims. */
export interface BufferResult {
  readonly buffer: GPUBuffer & { _refs?: number };
  readonly output: number[];
  readonly type: 'WebGPUBuffer';
  _deleted: boolean;
  toArray(): Promise<unknown>;
  delete(): void;
}

export interface GpuJsContext {
  adapter: GPUAdapter;
  device: GPUDevice;
  isLost: boolean;
}

/** The WebGPUKernel instance behind a kernel shortcut. */
export interface WebGpuKernel {
  built: boolean;
  output: number[];
  outputBuffer: (GPUBuffer & { _refs?: number }) | null;
  context: GpuJsContext;
  bindGroupDirty: boolean;
  setOutput(output: number[]): unknown;
  run(...args: unknown[]): Promise<unknown>;
  destroy(): void;
}

export interface KernelShortcut {
  (...args: unknown[]): Promise<unknown>;
  kernel: WebGpuKernel;
}

export interface KernelSettings {
  output: number[];
  argumentTypes: Record<string, string>;
  pipeline: true;
  immutable: true;
  precision: 'single';
  dynamicOutput: true;
  dynamicArguments: true;
  loopMaxIterations: number;
  tactic?: 'speed' | 'balanced' | 'precision';
}

export interface GpuJsGPU {
  createKernel(source: string, settings: KernelSettings): KernelShortcut;
  destroy(): void;
}

export interface GpuJsModule {
  GPU: new (settings: { mode: 'webgpu' }) => GpuJsGPU;
  WebGPUContext: { acquire(): Promise<GpuJsContext>; destroy(): Promise<void>; readonly isSupported: boolean };
  WebGPUBufferResult: new (settings: {
    buffer: GPUBuffer;
    output: number[];
    context: GpuJsContext;
    kernel: WebGpuKernel;
  }) => BufferResult;
}

const require = createRequire(import.meta.url);

/**
 * gpu.js is CommonJS and never imports `webgpu` itself (docs/gpujs-backend.md §4 no. 18); loading it early is
 * harmless.
 */
export function loadGpuJs(): GpuJsModule {
  return require('gpu.js') as GpuJsModule;
}

let navigatorPromise: Promise<void> | null = null;

/**
 * Installs `navigator.gpu` (and the WebGPU globals such as GPUBufferUsage) from Dawn, once per process.
 * XDG_RUNTIME_DIR must be set before Dawn loads or it warns on every start; any writable directory will do.
 * Throws when the `webgpu` package or its native binary cannot be loaded.
 */
export function installNavigatorGpu(): Promise<void> {
  navigatorPromise ??= (async () => {
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (g.navigator?.gpu) return; // a browser, or someone else installed it already
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
}

/**
 * Requests an adapter only: no device is created, so this neither spins a Dawn thread nor keeps Node alive
 * (docs/gpujs-backend.md §4 no. 14). Returns null when Vulkan offers no usable adapter.
 *
 * @returns The adapter's info, or null.
 */
export async function probeAdapter(): Promise<AdapterInfo | null> {
  await installNavigatorGpu();
  const gpu = (globalThis as unknown as { navigator: { gpu: GPU } }).navigator.gpu;
  const adapter = await gpu.requestAdapter();
  if (!adapter) return null;
  return adapterInfoOf(adapter);
}

export function adapterInfoOf(adapter: GPUAdapter): AdapterInfo {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    vendor: info.vendor ?? '',
    description: info.description ?? '',
    architecture: info.architecture ?? '',
    isFallbackAdapter: Boolean(info.isFallbackAdapter),
  };
}

/** 'llvmpipe' for Mesa's lavapipe, else the adapter's description or vendor. */
export function adapterLabel(info: AdapterInfo): string {
  if (/llvmpipe/i.test(info.description)) return 'llvmpipe';
  return info.description || info.vendor || 'unknown adapter';
}
