// The CPU backend's 2-thread GEMM in real Chromium, bundled the way users bundle it: esbuild, Vite and webpack 5
// each build the same probe (test/fixtures/threads-probe.js) with no worker configuration, and the page runs it on
// its main thread and in a dedicated Worker. With cross-origin isolation the GEMM worker (a blob: Worker over the
// shared wasm memory) must start and take half of a split product; without it the arena stays on and the backend
// reports 1 thread and why.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, launchChromium, serveStatic } from '../index.js';

const fixtures = resolve(import.meta.dirname, 'fixtures');
const entry = join(fixtures, 'threads-probe.js');
const skip = browserSkipReason();
const work = mkdtempSync(join(tmpdir(), 'tinyformer-bundlers-'));

type Probe = {
  error?: string;
  info: { requested: number; running: number; state: string; why: string };
  describe: string;
  arena: boolean;
  isolated: boolean;
  stats: { split: number; workerRan: number } | null;
  maxErr: number;
};

const bundlers: Record<string, (outDir: string) => Promise<void>> = {
  async esbuild(outDir) {
    const esbuild = await import('esbuild');
    await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      minify: true,
      format: 'iife',
      platform: 'browser',
      outfile: join(outDir, 'probe.js'),
      logLevel: 'silent',
    });
  },
  async vite(outDir) {
    const { build } = await import('vite');
    await build({
      configFile: false,
      logLevel: 'silent',
      root: fixtures,
      build: {
        outDir,
        emptyOutDir: false,
        lib: { entry, formats: ['iife'], name: 'probe', fileName: () => 'probe.js' },
      },
    });
  },
  async webpack(outDir) {
    const webpack = (await import('webpack')).default;
    await new Promise<void>((ok, fail) =>
      webpack(
        { mode: 'production', target: 'web', entry, output: { path: outDir, filename: 'probe.js' } },
        (err, stats) => {
          if (err) fail(err);
          else if (stats?.hasErrors()) fail(new Error(stats.toString({ all: false, errors: true })));
          else ok();
        },
      ),
    );
  },
};

describe.skipIf(skip !== null && process.env.CI !== 'true')('CPU backend threads in Chromium', () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function load(dir: string, isolated: boolean): Promise<{ page: Probe; worker: Probe }> {
    const server = await serveStatic(dir, { isolated });
    browser.consoleErrors.length = 0;
    try {
      const page = browser.page;
      await page.goto(`${server.url}/threads-probe.html`);
      await page.waitForFunction(() => (globalThis as { __probe?: unknown }).__probe !== undefined, null, {
        timeout: 60_000,
      });
      const pageProbe = (await page.evaluate(() => (globalThis as { __probe?: unknown }).__probe)) as Probe;
      await page.evaluate(() => (globalThis as unknown as { startWorkerProbe(): void }).startWorkerProbe());
      await page.waitForFunction(() => (globalThis as { __workerProbe?: unknown }).__workerProbe !== undefined, null, {
        timeout: 60_000,
      });
      const workerProbe = (await page.evaluate(
        () => (globalThis as { __workerProbe?: unknown }).__workerProbe,
      )) as Probe;
      return { page: pageProbe, worker: workerProbe };
    } finally {
      await server.close();
    }
  }

  for (const [name, bundle] of Object.entries(bundlers)) {
    it(`${name}: with COOP/COEP the page and a Worker run the GEMM on 2 threads`, async () => {
      expect(skip, 'CI=true: Chromium must be installed (.ci/run installs it)').toBeNull();
      const dir = join(work, name);
      mkdirSync(dir, { recursive: true });
      await bundle(dir);
      copyFileSync(join(fixtures, 'threads-probe.html'), join(dir, 'threads-probe.html'));
      const { page, worker } = await load(dir, true);
      for (const [where, p] of [
        ['page', page],
        ['worker', worker],
      ] as const) {
        expect(p.error, `${where}: ${p.error}`).toBeUndefined();
        expect(p.isolated, where).toBe(true);
        expect(p.arena, where).toBe(true);
        expect(p.info, where).toEqual({ requested: 2, running: 2, state: 'running', why: '' });
        expect(p.describe, where).toBe('2 GEMM threads');
        expect(p.stats?.split, where).toBeGreaterThan(0);
        expect(p.stats?.workerRan, `${where}: the GEMM worker ran half of a product`).toBeGreaterThan(0);
        expect(p.maxErr, where).toBeLessThan(1e-5);
      }
      expect(browser.consoleErrors).toEqual([]);
    });
  }

  it('without cross-origin isolation: the arena stays on, 1 thread, and the reason is reported', async () => {
    expect(skip, 'CI=true: Chromium must be installed (.ci/run installs it)').toBeNull();
    const dir = join(work, 'esbuild');
    const { page, worker } = await load(dir, false);
    for (const [where, p] of [
      ['page', page],
      ['worker', worker],
    ] as const) {
      expect(p.error, `${where}: ${p.error}`).toBeUndefined();
      expect(p.isolated, where).toBe(false);
      expect(p.arena, `${where}: shared wasm memory works without isolation`).toBe(true);
      expect(p.info.running, where).toBe(1);
      expect(p.info.state, where).toBe('unavailable');
      expect(p.describe, where).toMatch(/^1 GEMM thread \(2 requested: .*cross-origin isolated/);
      expect(p.maxErr, where).toBeLessThan(1e-5);
    }
  });
});
