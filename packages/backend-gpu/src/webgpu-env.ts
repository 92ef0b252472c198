/**
 * The environment-independent half of loading WebGPU and gpu.js: the adapter probe, adapter labels, and the small
 * typed surface of gpu.js internals this backend relies on. gpu.js 2.24.1 ships no types for its WebGPU classes,
 * so they are declared here; the package pins gpu.js exactly because `kernel.outputBuffer`, `kernel.run` and
 * `kernel.built` are internal fields.
 *
 * What differs between Node and a browser (where `navigator.gpu` comes from, which gpu.js build loads, how a
 * missing WebGPU is worded) lives behind the package-internal import `#webgpu-env`, which package.json maps to
 * `webgpu-env.browser.ts` under the "browser" condition and to `webgpu-env.node.ts` otherwise
 * (docs/gpujs-backend.md §2).
 */
import { env } from '#webgpu-env';

/** What a WebGPU adapter says about itself. */
export interface AdapterInfo {
  /** the vendor ('' when not reported) */
  vendor: string;
  /** a description of the device */
  description: string;
  /** the device's architecture */
  architecture: string;
  /** true for a software adapter (lavapipe/llvmpipe in Node, SwiftShader in Chromium) */
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

/**
 * What differs between Node and a browser. `webgpu-env.node.ts` and `webgpu-env.browser.ts` each export one as
 * `env`; the rest of the package reaches it only through `#webgpu-env`.
 */
export interface WebGpuEnv {
  /** which implementation this is */
  readonly name: 'node' | 'browser';
  /** makes `navigator.gpu` available (Node: from Dawn), or throws when this environment has no WebGPU */
  installNavigatorGpu(): Promise<void>;
  /** gpu.js itself: the CommonJS build in Node, the browser build in a browser */
  loadGpuJs(): Promise<GpuJsModule>;
  /** the fallback reason when installNavigatorGpu threw */
  noWebGpu(error: Error): string;
  /** the fallback reason when WebGPU is there but offers no adapter */
  readonly noAdapter: string;
  /** createGpuBackend's error when there is no adapter: noAdapter plus what to do about it */
  readonly noAdapterError: string;
}

/**
 * Makes `navigator.gpu` available, once. In Node it installs it (and the WebGPU globals such as
 * GPUBufferUsage) from Dawn, the `webgpu` package, setting XDG_RUNTIME_DIR first when unset (Dawn warns on every
 * start otherwise); when `navigator.gpu` exists already it does nothing. In a browser it only checks that the
 * browser has WebGPU.
 *
 * @returns A Promise that resolves once `navigator.gpu` exists.
 * @throws Error (as a rejection) in Node when the `webgpu` package or its native binary cannot be loaded, and in
 *   a browser without WebGPU.
 */
export function installNavigatorGpu(): Promise<void> {
  return env.installNavigatorGpu();
}

/** The environment's gpu.js (see WebGpuEnv.loadGpuJs). */
export function loadGpuJs(): Promise<GpuJsModule> {
  return env.loadGpuJs();
}

/** Environment-specific wording of the fallback reasons and errors. */
export const envText: Pick<WebGpuEnv, 'name' | 'noWebGpu' | 'noAdapter' | 'noAdapterError'> = env;

/**
 * Requests an adapter only: no device is created, so this neither spins a Dawn thread nor keeps Node alive
 * (docs/gpujs-backend.md §4 no. 14). Returns null when WebGPU offers no adapter (in Node: Vulkan has none).
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

/** The fields of `adapter.info` the package reports, with '' and false for what the adapter leaves out. */
export function adapterInfoOf(adapter: GPUAdapter): AdapterInfo {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    vendor: info.vendor ?? '',
    description: info.description ?? '',
    architecture: info.architecture ?? '',
    isFallbackAdapter: Boolean(info.isFallbackAdapter),
  };
}

/**
 * True for an adapter that runs on the CPU: one that says so (`isFallbackAdapter`: Mesa's lavapipe in Node,
 * Chromium's SwiftShader), or SwiftShader by name, which Chromium can also expose without the fallback flag.
 */
export function isSoftwareAdapter(info: AdapterInfo): boolean {
  return info.isFallbackAdapter || /swiftshader/i.test(`${info.architecture} ${info.description}`);
}

/** 'llvmpipe' for Mesa's lavapipe, 'swiftshader' for Chromium's, else the adapter's description or vendor. */
export function adapterLabel(info: AdapterInfo): string {
  if (/llvmpipe/i.test(info.description)) return 'llvmpipe';
  if (/swiftshader/i.test(`${info.architecture} ${info.description}`)) return 'swiftshader';
  return info.description || info.vendor || 'unknown adapter';
}
