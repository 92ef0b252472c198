import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeAdapter } from '@tinyformer/backend-gpu';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { readMetrics, runPaths } from '../src/run-folder.js';

// `charlm train --backend gpu` end to end on whatever WebGPU adapter there is (lavapipe in CI). In its own file:
// the CLI destroys the process-wide WebGPU device when it finishes.
const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(LAVAPIPE_ICD)) process.env.VK_ICD_FILENAMES = LAVAPIPE_ICD;

describe('charlm train --backend gpu', () => {
  it('trains, evaluates, checkpoints and samples on the WebGPU backend', async (ctx) => {
    const adapter = await probeAdapter().catch(() => null);
    if (!adapter) {
      if (process.env.CI === 'true') throw new Error('no WebGPU adapter under CI=true (install lavapipe)');
      console.warn('\n[charlm] SKIPPING the --backend gpu CLI test: no WebGPU adapter\n');
      ctx.skip();
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'charlm-gpu-'));
    const corpus = join(dir, 'corpus.txt');
    writeFileSync(corpus, 'a small corpus for a small model on a software GPU. '.repeat(30));
    const lines: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => lines.push(a.join(' '));
    try {
      const rc = await main([
        'train',
        '--backend',
        'gpu',
        '--data',
        corpus,
        '--out',
        join(dir, 'run'),
        '--iters',
        '6',
        '--eval-every',
        '3',
        '--eval-iters',
        '1',
        '--sample-tokens',
        '8',
        '--final-eval-iters',
        '200',
        '--context',
        '16',
        '--d-model',
        '16',
        '--layers',
        '1',
        '--heads',
        '2',
        '--batch-size',
        '2',
      ]);
      expect(rc).toBe(0);
    } finally {
      console.log = log;
    }
    expect(lines[0]).toMatch(/^backend: gpu\.js:webgpu/);
    const p = runPaths(join(dir, 'run'));
    expect(readFileSync(p.backend, 'utf8')).toMatch(/^gpu\.js:webgpu/);
    const metrics = readMetrics(p);
    expect(metrics.filter((m) => typeof m.loss === 'number' && Number.isFinite(m.loss))).toHaveLength(6);
    expect(metrics[metrics.length - 1]!.final).toBe(true);
  }, 300_000);
});
