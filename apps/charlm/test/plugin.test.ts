import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHARLM, CORPUS_TEXT, cliPath, SMALL } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'charlm-plugin-'));
const corpus = join(dir, 'corpus.txt');
const PLUGIN = '../../examples/custom-norm';

/**
 * The compiled CLI as a child process, from apps/charlm: a plugin's dist imports the packages' dists, so the norm
 * kind it registers is visible to the compiled CLI (in this test process the packages resolve to their sources).
 */
function cli(args: string[]) {
  return spawnSync(process.execPath, [cliPath(), ...args], { cwd: CHARLM, encoding: 'utf8', timeout: 120_000 });
}

beforeAll(() => writeFileSync(corpus, CORPUS_TEXT));

describe('charlm --plugin', () => {
  it('trains with a norm kind a plugin registers; sample needs the plugin again, and says so', () => {
    const run = join(dir, 'dyt');
    const t = cli([
      'train',
      '--plugin',
      PLUGIN,
      '--norm',
      'dyt',
      '--data',
      corpus,
      '--out',
      run,
      '--iters',
      '4',
      ...SMALL,
    ]);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toContain(`plugin ${PLUGIN}: dyt`);
    expect(t.stdout).toMatch(/pre-norm dyt/);
    const s = cli(['sample', '--plugin', PLUGIN, '--checkpoint', run, '--tokens', '20']);
    expect(s.status, s.stderr).toBe(0);
    const without = cli(['sample', '--checkpoint', run, '--tokens', '20']);
    expect(without.status).toBe(1);
    expect(without.stderr).toContain('norm.kind: must be one of "rmsnorm" | "layernorm" | "none", got "dyt"');
    expect(without.stderr).toContain('known only with --plugin <path>');
  });

  it('a bad plugin path is one clear error', () => {
    const r = cli(['train', '--plugin', 'no/such/plugin', '--data', corpus, '--out', join(dir, 'bad'), ...SMALL]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^charlm: --plugin no\/such\/plugin: no such file or folder \(.*no\/such\/plugin\)$/,
    );
  });
});
