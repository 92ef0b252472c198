// The built playground (dist/, from global-setup.ts) in real Chromium, served with COOP/COEP as a static host would
// serve it. The page is driven through its URL parameters and read through window.__playground (src/main.ts), never
// through pixels. Checked: training in the Worker lowers the loss, the chart and compare mode, the samples, the UI
// answering while the Worker trains, checkpoints both ways with charlm's CLI, and the first losses equal Node's.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { browserSkipReason, launchChromium, serveStatic } from '@tinyformer/browser-test';
import { loadBrownText } from '@tinyformer/data/node';
import { DEFAULT_CORPUS_SOURCE, PRESETS, setupRun, type TrainSettings, trainLoop } from '@tinyformer/recipe';
import { CpuBackend, setBackend } from '@tinyformer/tensor';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { APP, RUNS } from './paths.js';

const skip = browserSkipReason();
const required = process.env.CI === 'true';

interface RunStatus {
  label: string;
  losses: number[];
  val: [number, number][];
  step: number;
  tokensPerS: number;
  sample: string;
}
interface Status {
  state: string;
  backend: null | { name: string; reason: string; threads: string; isolated: boolean };
  crossOriginIsolated: boolean;
  runs: RunStatus[];
  opened: null | { name: string; step: number | null; vocabSize: number };
  sample: null | { text: string; tokensPerS: number };
  saved: string[];
  errors: string[];
  pings: number;
}

// a very small model on the Brown corpus: 30 steps take a few seconds on 2 cores
const SMALL = { layers: 2, width: 32, heads: 2, context: 32, batch: 8 };
const SEED = 1;
const smallQuery = (extra: Record<string, string | number>) =>
  new URLSearchParams(
    Object.entries({ ...SMALL, seed: SEED, evalEvery: 10, evalIters: 2, sampleTokens: 40, ...extra }).map(
      ([k, v]) => [k, String(v)] as [string, string],
    ),
  ).toString();

/** The settings the page builds from SMALL for one norm kind (src/main.ts runSpec). */
function smallSettings(norm: string, iters: number): TrainSettings {
  const base = PRESETS.tiny as TrainSettings;
  return {
    ...base,
    model: {
      ...base.model,
      nLayers: SMALL.layers,
      dModel: SMALL.width,
      nHeads: SMALL.heads,
      contextLength: SMALL.context,
      norm: { kind: norm, placement: 'pre' },
      ffn: { kind: 'swiglu' },
      positional: 'rope',
    },
    batchSize: SMALL.batch,
    iters,
    evalEvery: 10,
    evalIters: 2,
    sampleTokens: 40,
  };
}

describe.skipIf(skip !== null && !required)(
  `the playground in Chromium${skip === null ? '' : ` (skipped: ${skip})`}`,
  () => {
    let browser: Awaited<ReturnType<typeof launchChromium>>;
    let server: Awaited<ReturnType<typeof serveStatic>>;
    const nodeLosses: Record<string, number[]> = {};

    beforeAll(async () => {
      expect(skip, 'CI=true: Chromium must be installed (.ci/run installs it)').toBeNull();
      rmSync(RUNS, { recursive: true, force: true });
      mkdirSync(RUNS, { recursive: true });
      server = await serveStatic(join(APP, 'dist'), { isolated: true });
      browser = await launchChromium();
      // Node's first 10 losses for the same text, settings and seed, on the same CPU kernels
      const cpu = new CpuBackend();
      await cpu.whenThreadsReady();
      setBackend(cpu);
      const text = loadBrownText();
      for (const norm of ['rmsnorm', 'layernorm']) {
        const run = setupRun({ text, settings: smallSettings(norm, 30), seed: SEED, source: DEFAULT_CORPUS_SOURCE });
        const losses: number[] = [];
        await trainLoop({
          trainer: run.trainer,
          sampler: run.sampler,
          until: 10,
          afterStep: ({ result }) => void losses.push(result.loss),
        });
        nodeLosses[norm] = losses;
      }
    });

    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    it('trains on WebGPU (SwiftShader, asked for with ?backend=gpu): the loss falls and the first losses follow the CPU; auto keeps the CPU and says why', async () => {
      const gpuBrowser = await launchChromium({ webgpu: true });
      try {
        const { page, consoleErrors } = gpuBrowser;
        const read = () => page.evaluate(() => (globalThis as unknown as { __playground: Status }).__playground);
        const until = async (predicate: string, timeout = 240_000) => {
          await page.waitForFunction(
            `(() => { const s = globalThis.__playground; return s && (s.errors.length > 0 || (${predicate})); })()`,
            null,
            { timeout },
          );
          const s = await read();
          expect(s.errors).toEqual([]);
          return s;
        };
        await page.goto(`${server.url}/?backend=auto`);
        const auto = await until(`s.backend !== null`);
        expect(auto.backend!.reason).toMatch(
          /^cpu \(software adapter swiftshader only; add \?backend=gpu to use it\), 2 GEMM threads$/,
        );

        await page.goto(`${server.url}/?${smallQuery({ steps: 10, autostart: 1, norm: 'rmsnorm', backend: 'gpu' })}`);
        const s = await until(`s.state === 'done'`);
        expect(s.backend?.name).toBe('gpu.js:webgpu');
        expect(s.backend?.reason).toMatch(/^gpu\.js:webgpu \(swiftshader software adapter\)$/);
        const losses = s.runs[0]!.losses;
        expect(losses).toHaveLength(10);
        expect(losses[9]!).toBeLessThan(losses[0]!);
        // float32 on another device: not bit-equal, but the same run
        for (const [i, l] of losses.entries()) {
          expect(Math.abs(l - nodeLosses.rmsnorm![i]!) / nodeLosses.rmsnorm![i]!).toBeLessThan(1e-3);
        }
        expect(s.runs[0]!.sample.length).toBeGreaterThan(0);
        console.log(
          `WebGPU (SwiftShader) in the page: ${Math.round(s.runs[0]!.tokensPerS)} tokens/s; first losses ${losses.slice(0, 3).join(', ')}`,
        );
        await page.screenshot({ path: join(RUNS, 'webgpu.png'), fullPage: true });
        expect(consoleErrors).toEqual([]);
      } finally {
        await gpuBrowser.close();
      }
    });

    const status = () => browser.page.evaluate(() => (globalThis as unknown as { __playground: Status }).__playground);
    async function waitFor(predicate: string, timeout = 120_000): Promise<Status> {
      await browser.page.waitForFunction(
        `(() => { const s = globalThis.__playground; return s && (s.errors.length > 0 || (${predicate})); })()`,
        null,
        { timeout },
      );
      const s = await status();
      expect(s.errors).toEqual([]);
      return s;
    }
    const charlm = (args: string[]) =>
      spawnSync(process.execPath, [inject('charlmCli'), ...args], { encoding: 'utf8', timeout: 120_000 });

    it('trains RMSNorm vs LayerNorm on the same batches in a Worker: the loss falls, two curves, samples, Node-equal losses, a checkpoint charlm samples', async () => {
      const { page } = browser;
      browser.consoleErrors.length = 0;
      await page.goto(
        `${server.url}/?${smallQuery({ steps: 30, compare: 1, autostart: 1, norm: 'rmsnorm', norm2: 'layernorm' })}`,
      );
      const s = await waitFor(`s.state === 'done'`);
      expect(s.crossOriginIsolated).toBe(true);
      // no ?backend: 'auto', and this Chromium (no --enable-unsafe-webgpu) has no WebGPU adapter
      expect(s.backend?.name).toBe('cpu');
      expect(s.backend?.reason).toMatch(/^cpu \(no WebGPU adapter .*\), 2 GEMM threads$/);
      expect(s.runs.map((r) => r.label)).toEqual([
        'pre-norm rmsnorm, swiglu, rope',
        'pre-norm layernorm, swiglu, rope',
      ]);
      for (const r of s.runs) {
        expect(r.losses).toHaveLength(30);
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        expect(mean(r.losses.slice(-5)), r.label).toBeLessThan(mean(r.losses.slice(0, 5)) - 0.3);
        expect(r.val.map(([step]) => step)).toEqual([10, 20, 30]);
        expect(r.sample.length).toBeGreaterThan(0);
      }
      // the same kernels in the same order: bit-equal to Node
      expect(s.runs[0]!.losses.slice(0, 10)).toEqual(nodeLosses.rmsnorm);
      expect(s.runs[1]!.losses.slice(0, 10)).toEqual(nodeLosses.layernorm);
      console.log(
        `first 10 losses, page = Node:\n  rmsnorm   ${nodeLosses.rmsnorm!.join(', ')}\n  layernorm ${nodeLosses.layernorm!.join(', ')}`,
      );

      // the chart: a train and a val curve per run, two colors, a legend entry for each
      const paths = await page.$$eval('#chart path[data-series]', (ps) =>
        ps.map((p) => ({
          name: p.getAttribute('data-series')!,
          points: Number(p.getAttribute('data-points')),
          stroke: p.getAttribute('stroke')!,
        })),
      );
      expect(paths.map((p) => [p.name.replace(/ \(.*\)/, ''), p.points])).toEqual([
        ['run 1 train', 30],
        ['run 1 val', 3],
        ['run 2 train', 30],
        ['run 2 val', 3],
      ]);
      expect(new Set(paths.map((p) => p.stroke)).size).toBe(2);
      expect(await page.$$eval('#chart [data-legend]', (ls) => ls.length)).toBe(4);
      expect(await page.textContent('#eval-sample-1')).toMatch(/^step 30, val \d/);

      // the sampling box on run 2
      await page.selectOption('#sample-source', '1');
      await page.fill('#prompt', 'The ');
      await page.fill('#tokens', '50');
      await page.click('#generate');
      const sampled = await waitFor('s.sample !== null');
      expect(sampled.sample!.text.startsWith('The ')).toBe(true);
      expect(sampled.sample!.text.length).toBe(54);
      await page.screenshot({ path: join(RUNS, 'compare.png'), fullPage: true });

      // Save downloads charlm's checkpoint; charlm sample reads the file alone
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-0')]);
      const file = join(RUNS, 'page-run1.safetensors');
      await download.saveAs(file);
      const r = charlm(['sample', '--checkpoint', file, '--prompt', 'The ', '--tokens', '30', '--backend', 'cpu']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.startsWith('The ')).toBe(true);
      expect(r.stdout.trimEnd().length).toBeGreaterThan(20);
      expect(r.stderr).toMatch(/30 tokens in/);
      expect(browser.consoleErrors).toEqual([]);
    });

    it("opens a checkpoint charlm train wrote and samples it; trains on the same file with charlm's losses; ?backend=gpu falls back to the CPU and says why", async () => {
      const corpus = join(RUNS, 'corpus.txt');
      writeFileSync(
        corpus,
        'the quick brown fox jumps over the lazy dog.\na tiny model learns tiny things.\n'.repeat(40),
      );
      const out = join(RUNS, 'charlm-run');
      const train = charlm(
        ['train', '--data', corpus, '--out', out, '--backend', 'cpu', '--iters', '5', '--eval-every', '5'].concat([
          '--context',
          '16',
          '--d-model',
          '32',
          '--layers',
          '2',
          '--heads',
          '2',
          '--batch-size',
          '4',
        ]),
      );
      expect(train.status, train.stderr + train.stdout).toBe(0);

      const { page } = browser;
      browser.consoleErrors.length = 0;
      await page.goto(`${server.url}/?backend=gpu`);
      const s = await waitFor(`s.state === 'idle'`);
      expect(s.backend?.name).toBe('cpu');
      expect(s.backend?.reason).toMatch(
        /^cpu \(\?backend=gpu: WebGPU backend requested but unavailable: no WebGPU adapter.*; falling back to the CPU\), 2 GEMM threads$/,
      );
      await page.setInputFiles('#open-file', join(out, 'checkpoint.safetensors'));
      const opened = await waitFor('s.opened !== null');
      expect(opened.opened).toMatchObject({ name: 'checkpoint.safetensors', step: 5, vocabSize: 29 });
      expect(await page.inputValue('#sample-source')).toBe('opened');
      await page.fill('#prompt', 'the ');
      await page.fill('#tokens', '40');
      await page.click('#generate');
      const sampled = await waitFor('s.sample !== null');
      expect(sampled.sample!.text).toMatch(/^the [a-z .\n]{40}$/);
      await page.screenshot({ path: join(RUNS, 'opened.png'), fullPage: true });

      // the same file chosen in the page, with charlm's settings and seed: the page's losses are charlm's
      await page.setInputFiles('#text-file', corpus);
      await page.waitForFunction(() => document.getElementById('text-info')?.textContent?.startsWith('corpus.txt'));
      for (const [id, value] of Object.entries({ layers: 2, width: 32, heads: 2, context: 16, batch: 4, steps: 5 })) {
        await page.fill(`#${id}`, String(value));
      }
      await page.fill('#eval-every', '5');
      await page.fill('#seed', '1337'); // charlm's default --seed
      await page.click('#start');
      const trained = await waitFor(`s.state === 'done'`);
      const charlmLosses = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { loss?: number })
        .flatMap((m) => (typeof m.loss === 'number' ? [m.loss] : []));
      expect(charlmLosses).toHaveLength(5);
      expect(trained.runs[0]!.losses).toEqual(charlmLosses);
      expect(browser.consoleErrors).toEqual([]);
    });

    it('answers clicks while the Worker trains the baby preset; pause, resume and reset', async () => {
      const { page } = browser;
      browser.consoleErrors.length = 0;
      await page.goto(`${server.url}/?preset=baby&steps=400&evalEvery=1000&seed=${SEED}&autostart=1`);
      const first = await waitFor('s.runs.length > 0 && s.runs[0].step >= 5');
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await page.click('#ping');
        expect(await page.textContent('#pings')).toBe(String(i + 1));
        times.push(performance.now() - t0);
      }
      const during = await status();
      expect(during.state).toBe('training');
      expect(during.runs[0]!.step, 'the Worker kept training meanwhile').toBeGreaterThan(first.runs[0]!.step);
      // the page's thread is free while the Worker computes: its event loop turns in a few ms (a step of baby takes
      // tens of ms); bounds are loose, for a loaded 2-core machine
      const lag = await page.evaluate(async () => {
        let worst = 0;
        for (let i = 0; i < 50; i++) {
          const t0 = performance.now();
          await new Promise((r) => setTimeout(r, 0));
          worst = Math.max(worst, performance.now() - t0);
        }
        return worst;
      });
      expect(lag).toBeLessThan(500);
      expect(Math.max(...times)).toBeLessThan(3000);
      // throughput once the first steps (wasm compilation, the GEMM worker's start) are behind
      const warm = await waitFor('s.runs[0].step >= 40');
      console.log(
        `baby preset in the page: ${Math.round(warm.runs[0]!.tokensPerS)} tokens/s at step ${warm.runs[0]!.step}; ` +
          `clicks answered in ${times.map((t) => t.toFixed(0)).join(', ')} ms; worst event-loop turn ${lag.toFixed(1)} ms`,
      );

      await page.click('#pause');
      await waitFor(`s.state === 'paused'`);
      // a step already under way when the message came still finishes
      await page.waitForTimeout(300);
      const paused = await status();
      await page.waitForTimeout(500);
      expect((await status()).runs[0]!.step).toBe(paused.runs[0]!.step);
      await page.click('#resume');
      await waitFor(`s.state === 'training' && s.runs[0].step > ${paused.runs[0]!.step}`);
      await page.screenshot({ path: join(RUNS, 'training.png'), fullPage: true });
      await page.click('#reset');
      const reset = await waitFor(`s.state === 'idle'`);
      expect(reset.runs).toEqual([]);
      expect(browser.consoleErrors).toEqual([]);
    });
  },
);
