import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { readMetrics, runPaths } from '../src/run-folder.js';

const dir = mkdtempSync(join(tmpdir(), 'charlm-cli-'));
const corpus = join(dir, 'corpus.txt');
const lines: string[] = [];
let out = '';
const origLog = console.log;
const origErr = console.error;
const origWrite = process.stdout.write.bind(process.stdout);

// a small model and a small corpus so each run takes a second or two
const SMALL = ['--context', '16', '--d-model', '32', '--layers', '2', '--heads', '2', '--batch-size', '4'];

beforeAll(() => {
  const base = 'the quick brown fox jumps over the lazy dog. a tiny model learns tiny things. ';
  writeFileSync(corpus, base.repeat(40));
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  console.error = (...a: unknown[]) => lines.push(a.join(' '));
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
});

afterAll(() => {
  console.log = origLog;
  console.error = origErr;
  process.stdout.write = origWrite;
});

async function train(extra: string[], runDir: string): Promise<number> {
  return main([
    'train',
    '--data',
    corpus,
    '--out',
    runDir,
    '--backend',
    'cpu',
    '--iters',
    '12',
    '--eval-every',
    '6',
    '--eval-iters',
    '2',
    '--checkpoint-every',
    '6',
    '--sample-tokens',
    '10',
    '--final-eval-iters',
    '200',
    '--seed',
    '3',
    ...SMALL,
    ...extra,
  ]);
}

describe('charlm CLI', () => {
  it('train writes a complete run folder and prints the backend first', async () => {
    lines.length = 0;
    const run = join(dir, 'run-a');
    expect(await train([], run)).toBe(0);
    expect(lines[0]).toMatch(/^backend: cpu/);
    const p = runPaths(run);
    for (const f of [p.checkpoint, p.best, p.metrics, p.chart, p.config, p.backend]) expect(existsSync(f)).toBe(true);
    const metrics = readMetrics(p);
    expect(metrics.filter((m) => typeof m.loss === 'number')).toHaveLength(12);
    for (const m of metrics.filter((x) => !x.final)) {
      expect(Object.keys(m)).toEqual(expect.arrayContaining(['step', 'loss', 'lr', 'tokens_per_s']));
    }
    expect(metrics.find((m) => m.step === 6)?.val_loss).toBeGreaterThan(0);
    const last = metrics[metrics.length - 1]!;
    expect(last.final).toBe(true);
    expect(last.val_batches).toBeGreaterThanOrEqual(200);
    expect(readFileSync(p.chart, 'utf8')).toContain('<svg');
    expect(JSON.parse(readFileSync(p.config, 'utf8')).model.dModel).toBe(32);
  });

  it('--probe logs activation RMS and per-parameter gradient norms on eval steps only', async () => {
    const run = join(dir, 'run-probe');
    expect(await train(['--probe'], run)).toBe(0);
    const metrics = readMetrics(runPaths(run));
    const evalStep = metrics.find((m) => m.step === 6)!;
    const grads = evalStep.grad_norms as { name: string; norm: number }[];
    expect(grads.map((g) => g.name)).toContain('blocks.1.attn.qkv.weight');
    expect(grads.every((g) => Number.isFinite(g.norm) && g.norm > 0)).toBe(true);
    expect((evalStep.activations as unknown[]).length).toBeGreaterThan(0);
    expect(metrics.filter((m) => m.grad_norms !== undefined).map((m) => m.step)).toEqual([6]);
  });

  it('resume continues bit-for-bit: losses equal an uninterrupted run', async () => {
    const full = join(dir, 'run-full');
    await train([], full);
    const part = join(dir, 'run-part');
    await train(['--stop-at', '6'], part);
    expect(await train(['--resume'], part)).toBe(0);
    const a = readMetrics(runPaths(full)).filter((m) => typeof m.loss === 'number');
    const b = readMetrics(runPaths(part)).filter((m) => typeof m.loss === 'number');
    expect(b.map((m) => m.step)).toEqual(a.map((m) => m.step));
    expect(b.map((m) => m.loss)).toEqual(a.map((m) => m.loss));
  });

  it('sample streams text from a run folder, deterministic per seed', async () => {
    const run = join(dir, 'run-a');
    out = '';
    expect(
      await main([
        'sample',
        '--checkpoint',
        run,
        '--prompt',
        'the ',
        '--tokens',
        '20',
        '--seed',
        '5',
        '--backend',
        'cpu',
      ]),
    ).toBe(0);
    const first = out;
    out = '';
    await main([
      'sample',
      '--checkpoint',
      run,
      '--prompt',
      'the ',
      '--tokens',
      '20',
      '--seed',
      '5',
      '--backend',
      'cpu',
    ]);
    expect(out).toBe(first);
    expect(first.startsWith('the ')).toBe(true);
    expect([...first.trimEnd()].length).toBe(24);
  });

  it('sample reads a lone checkpoint file, away from its run folder (a download from the playground)', async () => {
    const lone = join(dir, 'downloads');
    mkdirSync(lone, { recursive: true });
    const file = join(lone, 'run-a-step12.safetensors');
    copyFileSync(runPaths(join(dir, 'run-a')).checkpoint, file);
    const args = ['--prompt', 'the ', '--tokens', '20', '--seed', '5', '--backend', 'cpu'];
    out = '';
    expect(await main(['sample', '--checkpoint', join(dir, 'run-a'), ...args])).toBe(0);
    const fromFolder = out;
    out = '';
    expect(await main(['sample', '--checkpoint', file, ...args])).toBe(0);
    expect(out).toBe(fromFolder);
  });

  it('eval prints val loss and bits per character', async () => {
    lines.length = 0;
    const run = join(dir, 'run-a');
    expect(await main(['eval', '--checkpoint', run, '--data', corpus, '--batches', '3', '--backend', 'cpu'])).toBe(0);
    expect(lines.join('\n')).toMatch(/val loss \d+\.\d+ nats\/char, \d+\.\d+ bits\/char/);
  });

  it('--help works for each command', async () => {
    for (const cmd of ['train', 'sample', 'eval']) {
      lines.length = 0;
      expect(await main([cmd, '--help'])).toBe(0);
      expect(lines.join('\n')).toContain(`usage: charlm ${cmd}`);
    }
  });

  it('bad flags fail with a clear message', async () => {
    await expect(main(['train', '--bogus'])).rejects.toThrow(/bogus/);
    await expect(
      main(['train', '--norm', 'batchnorm', '--data', corpus, '--out', join(dir, 'x'), '--backend', 'cpu']),
    ).rejects.toThrow(/norm\.kind.*rmsnorm.*layernorm.*none/s);
    await expect(main(['train', '--iters=-3'])).rejects.toThrow('--iters must be a positive integer, got "-3"');
    await expect(main(['sample'])).rejects.toThrow('needs --checkpoint');
    await expect(main(['sample', '--checkpoint', join(dir, 'run-a'), '--prompt', 'Zé'])).rejects.toThrow(
      /never saw in training.*"Z"/,
    );
    await expect(main(['frobnicate'])).rejects.toThrow(/unknown command/);
  });
});
