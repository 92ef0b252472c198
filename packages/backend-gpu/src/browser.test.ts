// The package in real Chromium, bundled the way a user bundles it: esbuild (platform browser) and Vite build
// test/fixtures/browser-probe.js from the package's dist, which must pick webgpu-env.browser.js through the
// `#webgpu-env` import condition, so the bundles hold no `node:` module and no Dawn. With --enable-unsafe-webgpu
// Chromium offers SwiftShader's software fallback adapter: 'auto' must pass over it and 'gpu' must run on it, with
// ops and four training steps matching the CPU backend. Without the flag there is no adapter at all, and a page
// that hides navigator.gpu stands in for a browser without WebGPU.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { browserSkipReason, launchChromium, serveStatic } from '@tinyformer/browser-test';
import { buildStale } from '@tinyformer/vitest-config/build';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkg = resolve(import.meta.dirname, '..');
const root = resolve(pkg, '..', '..');
const skip = browserSkipReason();
const run = skip === null || process.env.CI === 'true';
const work = mkdtempSync(join(tmpdir(), 'tinyformer-backend-gpu-browser-'));

type Selected = {
  name: string;
  reason: string;
  fallback: { kind: string; why: string } | null;
  adapterInfo: { vendor: string; architecture: string; isFallbackAdapter: boolean } | null;
};
type Probe = {
  error?: string;
  hasNavigatorGpu: boolean;
  secure: boolean;
  auto: Selected;
  cpu: Selected;
  gpu?: Selected;
  gpuError?: string;
  kernels?: Record<string, boolean>;
  opErr?: Record<string, number>;
  opsLeaked?: number;
  lossesCpu?: number[];
  lossesGpu?: number[];
  dispatches?: number;
  gpuGlobal: {
    unchanged: boolean;
    isWebGpuInterface: boolean;
    hasCreateKernel: boolean;
    navigatorGpuIsInstance: boolean;
  };
  webgpuAfter?: number[];
};

type Bundle = { text: string; bytes: number; inputs: string[]; nodeImports: string[] };

/** The probe page's bundle, and the package's root entry bundled alone (its own dependencies left external). */
let probeBundle: Bundle;
let entryBundle: Bundle;

async function bundle(entry: string, outfile: string, external: string[] = []): Promise<Bundle> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    // the package as a user's bundler sees it: its exports' "import" target, dist/index.js
    alias: { '@tinyformer/backend-gpu': join(pkg, 'dist', 'index.js') },
    external,
    outfile,
    absWorkingDir: root,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = result.metafile.inputs;
  return {
    text: readFileSync(outfile, 'utf8'),
    bytes: statSync(outfile).size,
    inputs: Object.keys(inputs),
    nodeImports: Object.values(inputs).flatMap((i) =>
      i.imports.map((m) => m.path).filter((m) => m.startsWith('node:')),
    ),
  };
}

/** An entry through Vite (library mode, ES modules, browser conditions) into `outDir` as `<name>.js`. */
async function viteBundle(
  entry: string,
  outDir: string,
  name: string,
  external: string[] = [],
): Promise<{ files: string[]; text: string }> {
  const { build } = await import('vite');
  await build({
    configFile: false,
    logLevel: 'silent',
    root: work,
    resolve: { alias: { '@tinyformer/backend-gpu': join(pkg, 'dist', 'index.js') } },
    build: {
      outDir,
      emptyOutDir: true,
      lib: { entry, formats: ['es'], fileName: () => `${name}.js` },
      rollupOptions: { external },
    },
  });
  // the dynamic import of gpu.js becomes a chunk of its own, named after the file it came from
  const files = readdirSync(outDir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.m?js$/.test(f));
  return { files, text: files.map((f) => readFileSync(join(outDir, f), 'utf8')).join('\n') };
}

let vite: { files: string[]; text: string };
let sourceInputs: string[];

beforeAll(async () => {
  if (!run) return;
  // the probe bundles the dists; rebuild those older than their sources (turbo's ^build covers the dependencies)
  buildStale(pkg, [
    'packages/tensor',
    'packages/autograd',
    'packages/norm',
    'packages/attention',
    'packages/ffn',
    'packages/model',
    'packages/backend-gpu',
  ]);
  probeBundle = await bundle(join(pkg, 'test', 'fixtures', 'browser-probe.js'), join(work, 'probe.js'));
  writeFileSync(join(work, 'entry.js'), "export * from '@tinyformer/backend-gpu';\n");
  entryBundle = await bundle(join(work, 'entry.js'), join(work, 'entry.bundle.js'), [
    '@tinyformer/tensor',
    '@tinyformer/norm',
  ]);
  const esbuild = await import('esbuild');
  const fromSource = await esbuild.build({
    entryPoints: [join(pkg, 'src', 'index.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    conditions: ['source'],
    absWorkingDir: root,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  sourceInputs = Object.keys(fromSource.metafile.inputs);
  vite = await viteBundle(join(work, 'entry.js'), join(work, 'vite-out'), 'entry', [
    '@tinyformer/tensor',
    '@tinyformer/norm',
  ]);
  // the whole probe through Vite too, run in the page below: gpu.js arrives as a chunk of its own
  await viteBundle(join(pkg, 'test', 'fixtures', 'browser-probe.js'), join(work, 'vite'), 'probe');
  writeFileSync(
    join(work, 'vite', 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>backend-gpu probe (Vite)</title><link rel="icon" href="data:,">' +
      '<script type="module" src="probe.js"></script>\n',
  );
  // a browser without WebGPU: the page hides navigator.gpu before the probe runs
  writeFileSync(
    join(work, 'no-webgpu.html'),
    '<!doctype html><meta charset="utf-8"><title>backend-gpu probe, no WebGPU</title><link rel="icon" href="data:,">' +
      "<script>Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });</script>" +
      '<script src="probe.js"></script>\n',
  );
  writeFileSync(
    join(work, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>backend-gpu probe</title><link rel="icon" href="data:,"><script src="probe.js"></script>\n',
  );
}, 300_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

async function probe(webgpu: boolean, page = 'index.html'): Promise<{ probe: Probe; consoleErrors: string[] }> {
  const browser = await launchChromium({ webgpu });
  const server = await serveStatic(work, { isolated: false });
  try {
    await browser.page.goto(`${server.url}/${page}`);
    await browser.page.waitForFunction(() => (globalThis as { __probe?: unknown }).__probe !== undefined, null, {
      timeout: 240_000,
    });
    const p = (await browser.page.evaluate(() => (globalThis as { __probe?: unknown }).__probe)) as Probe;
    return { probe: p, consoleErrors: [...browser.consoleErrors] };
  } finally {
    await server.close();
    await browser.close();
  }
}

describe.skipIf(!run)('@tinyformer/backend-gpu in Chromium', () => {
  it('bundles for the browser without node: modules or Dawn, with the browser build of gpu.js', () => {
    expect(skip, 'CI=true: Chromium must be installed (.ci/run installs it)').toBeNull();
    const dawn = (b: Bundle) => b.inputs.filter((i) => /node_modules\/webgpu\/|dawn/i.test(i));
    const firstMatch = (b: Bundle, re: RegExp) => b.text.match(re)?.[0] ?? null;
    // the package's root entry alone: not even a `node:` string
    expect(entryBundle.nodeImports).toEqual([]);
    expect(firstMatch(entryBundle, /.{0,60}node:.{0,20}/)).toBeNull();
    expect(dawn(entryBundle)).toEqual([]);
    expect(firstMatch(entryBundle, /.{0,60}dawn.{0,20}/i)).toBeNull();
    expect(entryBundle.inputs.some((i) => i === 'packages/backend-gpu/dist/webgpu-env.browser.js')).toBe(true);
    expect(entryBundle.inputs.some((i) => i === 'packages/backend-gpu/dist/webgpu-env.node.js')).toBe(false);
    expect(entryBundle.inputs.some((i) => i.endsWith('gpu.js/dist/gpu-browser.js'))).toBe(true);
    // the browser environment's wording is in, the Node one's is not
    expect(entryBundle.text).toContain('no WebGPU in this browser');
    expect(entryBundle.text).not.toContain('no webgpu package');
    // Vite picks the same files through the "browser" condition and the browser field
    expect(vite.text.match(/.{0,60}node:.{0,20}/)?.[0] ?? null).toBeNull();
    expect(vite.text.match(/.{0,60}dawn.{0,20}/i)?.[0] ?? null).toBeNull();
    expect(vite.text).toContain('no WebGPU in this browser');
    expect(vite.text).not.toContain('no webgpu package');
    expect(
      vite.files.some((f) => f.startsWith('gpu-browser')),
      vite.files.join(', '),
    ).toBe(true);
    // the workspace's own source builds (esbuild with the "source" condition, as other packages' bundle tests use)
    // must take the browser file too: "browser" comes before "source" in the imports map
    expect(sourceInputs.filter((i) => /webgpu-env\.(node|browser)|node_modules\/webgpu\//.test(i))).toEqual([
      'packages/backend-gpu/src/webgpu-env.browser.ts',
    ]);
    // the whole page (tensor's CPU backend names node:worker_threads in strings for Node only, never imports it)
    expect(probeBundle.nodeImports).toEqual([]);
    expect(dawn(probeBundle)).toEqual([]);
    console.info(
      `backend-gpu browser bundles (esbuild, minified): root entry ${entryBundle.bytes} bytes, ` +
        `probe page ${probeBundle.bytes} bytes`,
    );
  });

  it('with WebGPU (SwiftShader): auto takes the CPU, gpu runs ops and training like the CPU', async () => {
    expect(skip, 'CI=true: Chromium must be installed (.ci/run installs it)').toBeNull();
    const { probe: p, consoleErrors } = await probe(true);
    expect(p.error, p.error).toBeUndefined();
    expect(p.secure).toBe(true);
    expect(p.hasNavigatorGpu).toBe(true);
    // auto: the software adapter is no faster than the CPU backend
    expect(p.auto.name).toBe('cpu');
    expect(p.auto.reason).toBe('cpu (software adapter swiftshader only)');
    expect(p.auto.fallback).toEqual({ kind: 'software-adapter', why: 'software adapter swiftshader only' });
    expect(p.auto.adapterInfo?.architecture).toBe('swiftshader');
    expect(p.cpu.reason).toBe('cpu (requested)');
    // gpu: any adapter, the software one included
    expect(p.gpuError, p.gpuError).toBeUndefined();
    expect(p.gpu?.name).toBe('gpu.js:webgpu');
    expect(p.gpu?.reason).toBe('gpu.js:webgpu (swiftshader software adapter)');
    expect(p.gpu?.adapterInfo?.isFallbackAdapter).toBe(true);
    expect(Object.values(p.kernels ?? {}).every(Boolean), JSON.stringify(p.kernels)).toBe(true);
    // float32 on both sides; the CPU sums rows in float64, the GPU in float32 (docs/gpujs-backend.md §4)
    for (const [name, err] of Object.entries(p.opErr ?? {})) expect(err, name).toBeLessThan(2e-5);
    expect(Object.keys(p.opErr ?? {}).length).toBe(11);
    expect(p.opsLeaked).toBe(0);
    expect(p.lossesGpu).toHaveLength(4);
    for (const [i, loss] of (p.lossesGpu ?? []).entries()) {
      const want = p.lossesCpu![i]!;
      expect(Math.abs(loss - want) / Math.abs(want), `step ${i}: ${loss} vs ${want}`).toBeLessThan(1e-4);
    }
    expect(p.lossesCpu![3]!).toBeLessThan(p.lossesCpu![0]!);
    // gpu.js's browser build overwrites window.GPU; the page's WebGPU interface must be back
    expect(p.gpuGlobal).toEqual({
      unchanged: true,
      isWebGpuInterface: true,
      hasCreateKernel: false,
      navigatorGpuIsInstance: true,
    });
    expect(p.webgpuAfter).toEqual([1, 2, 3, 4]);
    expect(consoleErrors).toEqual([]);
    console.info(
      `backend-gpu in Chromium: losses cpu ${p.lossesCpu?.join(', ')}; gpu ${p.lossesGpu?.join(', ')}; ` +
        `op errors ${JSON.stringify(p.opErr)}; ${p.dispatches} dispatches`,
    );
  }, 300_000);

  it('the Vite bundle: gpu runs on SwiftShader and trains like the CPU, window.GPU kept', async () => {
    expect(skip, 'CI=true: Chromium must be installed (.ci/run installs it)').toBeNull();
    const { probe: p, consoleErrors } = await probe(true, 'vite/index.html');
    expect(p.error, p.error).toBeUndefined();
    expect(p.auto.reason).toBe('cpu (software adapter swiftshader only)');
    expect(p.gpu?.reason).toBe('gpu.js:webgpu (swiftshader software adapter)');
    for (const [name, err] of Object.entries(p.opErr ?? {})) expect(err, name).toBeLessThan(2e-5);
    for (const [i, loss] of (p.lossesGpu ?? []).entries()) {
      const want = p.lossesCpu![i]!;
      expect(Math.abs(loss - want) / Math.abs(want), `step ${i}: ${loss} vs ${want}`).toBeLessThan(1e-4);
    }
    expect(p.lossesGpu).toHaveLength(4);
    expect(p.gpuGlobal.unchanged).toBe(true);
    expect(p.webgpuAfter).toEqual([1, 2, 3, 4]);
    expect(consoleErrors).toEqual([]);
  }, 300_000);

  it('without WebGPU adapter: auto takes the CPU and says why, gpu throws', async () => {
    expect(skip, 'CI=true: Chromium must be installed (.ci/run installs it)').toBeNull();
    const { probe: p, consoleErrors } = await probe(false);
    expect(p.error, p.error).toBeUndefined();
    expect(p.auto.name).toBe('cpu');
    expect(p.auto.fallback?.kind).toBe('no-adapter');
    expect(p.auto.reason).toMatch(/^cpu \(no WebGPU adapter/);
    expect(p.gpuError).toMatch(/^WebGPU backend requested but unavailable: no WebGPU adapter/);
    expect(p.gpuGlobal.unchanged).toBe(true);
    expect(consoleErrors).toEqual([]);
  }, 120_000);

  it('without navigator.gpu: auto takes the CPU with "no WebGPU in this browser", gpu throws', async () => {
    expect(skip, 'CI=true: Chromium must be installed (.ci/run installs it)').toBeNull();
    const { probe: p, consoleErrors } = await probe(true, 'no-webgpu.html');
    expect(p.error, p.error).toBeUndefined();
    expect(p.hasNavigatorGpu).toBe(false);
    expect(p.auto.name).toBe('cpu');
    expect(p.auto.reason).toBe('cpu (no WebGPU in this browser)');
    expect(p.auto.fallback).toEqual({ kind: 'no-package', why: 'no WebGPU in this browser' });
    expect(p.gpuError).toBe('WebGPU backend requested but unavailable: no WebGPU in this browser');
    expect(p.gpuGlobal.unchanged).toBe(true);
    expect(consoleErrors).toEqual([]);
  }, 120_000);
});

if (!run) it.skip(`backend-gpu in Chromium (skipped: ${skip})`, () => {});
