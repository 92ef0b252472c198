#!/usr/bin/env node
// Baby GPT training throughput: Node vs Chromium (a dedicated Worker on a cross-origin isolated page), 1 and 2
// GEMM threads, interleaved rounds on the same machine, medians reported. Not a test: it prints numbers.
//   node tooling/browser/bench/run.mjs [--rounds 5] [--steps 30] [--json FILE]
// Needs the packages built (pnpm build) and Chromium (tooling/scripts/install-chromium.sh).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium, serveStatic } from '../index.js';
import { trainSteps } from './train-probe.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string', default: '30' },
    json: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const steps = Number(values.steps);
const warmup = 5;

const dir = mkdtempSync(join(tmpdir(), 'tinyformer-bench-'));
const esbuild = await import('esbuild');
await esbuild.build({
  entryPoints: [join(import.meta.dirname, 'train-probe.js')],
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  outfile: join(dir, 'probe.js'),
  logLevel: 'silent',
});
writeFileSync(
  join(dir, 'index.html'),
  `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>bench</title>
<script>
window.runWorker = (o) => new Promise((ok) => {
  const w = new Worker('probe.js');
  w.onmessage = (e) => { w.terminate(); ok(e.data); };
  w.onerror = (e) => { w.terminate(); ok({ error: String(e.message) }); };
  w.postMessage(o);
});
</script>`,
);
const server = await serveStatic(dir, { isolated: true });
const browser = await launchChromium();
await browser.page.goto(`${server.url}/index.html`);
const chromiumVersion =
  browser.context.browser()?.version() ?? (await browser.page.evaluate(() => navigator.userAgent));

const runs = {
  'node, 1 thread': () => trainSteps({ threads: 1, steps, warmup }),
  'node, 2 threads': () => trainSteps({ threads: 2, steps, warmup }),
  'chromium worker, 1 thread': () => browser.page.evaluate((o) => window.runWorker(o), { threads: 1, steps, warmup }),
  'chromium worker, 2 threads': () => browser.page.evaluate((o) => window.runWorker(o), { threads: 2, steps, warmup }),
};
/** @type {Record<string, number[]>} */
const tok = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
/** @type {Record<string, string>} */
const threads = {};
/** @type {Record<string, number[]>} */
const firstLosses = {};
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(runs)) {
    const res = await run();
    if (res.error) throw new Error(`${name}: ${res.error}`);
    tok[name].push(res.tokPerSec);
    threads[name] = res.threads;
    firstLosses[name] ??= res.losses.slice(0, 5);
    console.log(`round ${r + 1} ${name}: ${res.tokPerSec.toFixed(0)} tok/s (${res.threads})`);
  }
}
await browser.close();
await server.close();
rmSync(dir, { recursive: true, force: true });

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const med = Object.fromEntries(Object.entries(tok).map(([k, v]) => [k, median(v)]));
const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`\n${cpu}, ${cpus().length} cores; Node ${process.version}; Chromium ${chromiumVersion}`);
console.log(
  `baby GPT (4L/4H/128, ctx 64, batch 12), ${steps} steps x ${rounds} rounds after ${warmup} warm-up, medians:`,
);
for (const [k, v] of Object.entries(med))
  console.log(`  ${k.padEnd(28)} ${v.toFixed(0).padStart(6)} tok/s  (${threads[k]})`);
const w1 = med['chromium worker, 1 thread'];
const w2 = med['chromium worker, 2 threads'];
const n2 = med['node, 2 threads'];
console.log(`  worker 2 threads / worker 1 thread: ${(w2 / w1).toFixed(2)}x`);
console.log(`  worker 2 threads / Node 2 threads:  ${(w2 / n2).toFixed(2)}x`);
const same =
  JSON.stringify(firstLosses['node, 2 threads']) === JSON.stringify(firstLosses['chromium worker, 2 threads']);
console.log(`  first 5 losses identical in Node and Chromium: ${same}`);
if (values.json) {
  writeFileSync(
    values.json,
    JSON.stringify(
      { cpu, node: process.version, chromiumVersion, steps, rounds, tok, med, threads, firstLosses },
      null,
      2,
    ),
  );
}
