import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '@tinyformer/charlm';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { main } from '../src/cli.js';
import { reportPaths } from '../src/lab.js';
import { resultsSchema } from '../src/schema.js';
import { NORM_LAB } from './paths.js';

const dir = mkdtempSync(join(tmpdir(), 'norm-lab-plugin-'));
const corpus = join(dir, 'corpus.txt');

/** The compiled CLI as a child process, from apps/norm-lab, as a user runs it. */
function cli(args: string[]) {
  return spawnSync(process.execPath, [inject('normLabCli'), ...args], {
    cwd: NORM_LAB,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

beforeAll(() => {
  writeFileSync(
    corpus,
    'The quick brown fox jumps over the lazy dog. A tiny model learns tiny things, slowly; then faster!\n'.repeat(80),
  );
});

describe('norm-lab --plugin (the compiled CLI)', () => {
  it('loads the custom-norm example from its package folder and trains dyt beside RMSNorm and LayerNorm', () => {
    const out = join(dir, 'dyt');
    const r = cli([
      'run',
      'quality',
      '--quick',
      '--backend',
      'cpu',
      '--data',
      corpus,
      '--out',
      out,
      '--plugin',
      '../../examples/custom-norm',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /plugin \.\.\/\.\.\/examples\/custom-norm: .*examples\/custom-norm\/dist\/index\.js registered dyt/,
    );
    const json = JSON.parse(readFileSync(reportPaths(out).json, 'utf8'));
    const parsed = resultsSchema.safeParse(json);
    expect(parsed.success, parsed.success ? '' : parsed.error.message).toBe(true);
    expect(json.plugins).toEqual([
      {
        path: '../../examples/custom-norm',
        module: join(NORM_LAB, '..', '..', 'examples', 'custom-norm', 'dist', 'index.js'),
        kinds: [{ kind: 'dyt', description: expect.stringMatching(/Dynamic Tanh/) }],
      },
    ]);
    const q = json.experiments.quality;
    expect(q.data.runs.map((x: { norm: string }) => x.norm)).toEqual(['rmsnorm', 'layernorm', 'dyt']);
    const dyt = q.data.runs.find((x: { norm: string }) => x.norm === 'dyt').run;
    expect(dyt.stepsRun).toBe(80);
    expect(Number.isFinite(dyt.finalVal)).toBe(true);
    // it learned: the final validation loss is well under the loss of the first step
    expect(dyt.finalVal).toBeLessThan(dyt.initialLoss);
    expect(q.data.summary.extra).toHaveLength(1);
    expect(q.data.summary.extra[0].norm).toBe('dyt');
    expect(q.verdicts).toHaveLength(2);
    expect(q.verdicts[1].claim).toMatch(/^dyt \(Dynamic Tanh.*can replace RMSNorm/);
    expect(['agrees', 'partly', 'disagrees']).toContain(q.verdicts[1].status);
    const html = readFileSync(reportPaths(out).html, 'utf8');
    expect(html).toContain('dyt (seed 1337)');
    expect(html).toMatch(/can replace RMSNorm/);
  });

  it('a plugin path that does not exist: one line naming it, no stack trace, exit 1', () => {
    const r = cli(['run', 'quality', '--quick', '--out', join(dir, 'x'), '--plugin', '../../examples/no-such-plugin']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^norm-lab: --plugin \.\.\/\.\.\/examples\/no-such-plugin: no such file or folder/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('norm-lab --plugin errors', () => {
  const plugins = join(dir, 'plugins');
  mkdirSync(join(plugins, 'no-package'), { recursive: true });
  mkdirSync(join(plugins, 'unbuilt'), { recursive: true });
  mkdirSync(join(plugins, 'no-entry'), { recursive: true });
  writeFileSync(join(plugins, 'throws.mjs'), "throw new Error('plugin exploded on import');\n");
  writeFileSync(join(plugins, 'nothing.mjs'), 'export const registered = 0;\n');
  writeFileSync(
    join(plugins, 'unbuilt', 'package.json'),
    JSON.stringify({ name: 'unbuilt', exports: { '.': { import: './dist/index.js' } } }),
  );
  writeFileSync(join(plugins, 'no-entry', 'package.json'), JSON.stringify({ name: 'no-entry' }));
  const run = (plugin: string) => main(['run', 'quality', '--quick', '--out', join(dir, 'err'), '--plugin', plugin]);

  it('names each failure, as a user error', async () => {
    await expect(run(join(plugins, 'missing.mjs'))).rejects.toThrow(CliError);
    await expect(run(join(plugins, 'missing.mjs'))).rejects.toThrow(/missing\.mjs: no such file or folder/);
    await expect(run(join(plugins, 'throws.mjs'))).rejects.toThrow(
      /throws\.mjs: importing .*throws\.mjs failed: plugin exploded on import/,
    );
    await expect(run(join(plugins, 'nothing.mjs'))).rejects.toThrow(/nothing\.mjs registered no new norm kind/);
    await expect(run(join(plugins, 'no-package'))).rejects.toThrow(/has no package\.json/);
    await expect(run(join(plugins, 'unbuilt'))).rejects.toThrow(/entry .*dist\/index\.js does not exist/);
    await expect(run(join(plugins, 'no-entry'))).rejects.toThrow(
      /no exports\["\."\] \(import or default\) and no main/,
    );
  });
});
