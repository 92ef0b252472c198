// Reliability, faults during training: NaN/Inf, signals, a full disk, an unwritable run folder. Each test feeds the
// fault and checks what the user sees and what is left on disk. Signals and file-size limits need a real process:
// those tests run the compiled CLI as a child (see global-setup.ts).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpoint } from '@tinyformer/model/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareRunFolder, readMetrics, runPaths } from '../src/run-folder.js';
import { CORPUS_TEXT, metricLines, runCli, SMALL, startCli as start, until } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'charlm-faults-'));
const corpus = join(dir, 'corpus.txt');
const TRAIN = ['train', '--data', corpus, '--backend', 'cpu', '--seed', '5', ...SMALL];

beforeAll(() => writeFileSync(corpus, CORPUS_TEXT));

const cli = (args: string[], env?: Record<string, string>) => runCli(args, { dir, env });
const bytes = (f: string) => readFileSync(f);
/** Files a killed or failed write could leave behind: temp files of the atomic writes. */
const temps = (folder: string) => readdirSync(folder).filter((n) => n.includes('.tmp-'));
const losses = (folder: string) =>
  readMetrics(runPaths(folder))
    .filter((m) => typeof m.loss === 'number')
    .map((m) => [m.step, m.loss]);

describe('NaN/Inf during training', () => {
  // a run stopped at step 4 (checkpoint and best written), then resumed with a NaN gradient injected at step 5
  const run = join(dir, 'nan');
  const flags = ['--out', run, '--iters', '8', '--eval-every', '2', '--eval-iters', '2', '--checkpoint-every', '2'];
  const NAN_AT_5 = { TINYFORMER_FAULT_NAN_AT_STEP: '5' };

  beforeAll(async () => {
    expect((await cli([...TRAIN, ...flags, '--stop-at', '4'])).code).toBe(0);
  });

  it('stops with a message naming the step and the parameter; checkpoint and best stay byte-identical', async () => {
    const p = runPaths(run);
    const before = [bytes(p.checkpoint), bytes(p.best)];
    const r = await cli([...TRAIN, ...flags, '--resume'], NAN_AT_5);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "charlm: step 5: the gradient of parameter 'blocks.1.attn.proj.weight' (element 0 = NaN) is not finite " +
        '(NaN or Inf); stopping before the update so the weights stay intact. The last good checkpoint ' +
        '(<tmp>/nan/checkpoint.safetensors) is unchanged; lower --lr or pass --on-nan skip\n',
    );
    expect(bytes(p.checkpoint).equals(before[0]!)).toBe(true);
    expect(bytes(p.best).equals(before[1]!)).toBe(true);
    expect(temps(run)).toEqual([]);
  });

  it('--on-nan skip skips that step, says so, and finishes', async () => {
    const r = await cli([...TRAIN, ...flags, '--resume', '--on-nan', 'skip'], NAN_AT_5);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(
      /step 5: skipped \(--on-nan skip\): loss \d\.\d+, gradient norm NaN; the weights are unchanged\n/,
    );
    const metrics = readMetrics(runPaths(run));
    expect(metrics.filter((m) => m.skipped).map((m) => m.step)).toEqual([5]);
    expect(metrics.at(-1)!.final).toBe(true);
    expect(Number.isFinite(metrics.at(-1)!.val_loss)).toBe(true);
    expect(readCheckpoint(runPaths(run).checkpoint).meta.step).toBe(8);
  });

  it('a huge --lr blows the loss up: the message names the step, the loss and the first bad gradient', async () => {
    const out = join(dir, 'huge-lr');
    const r = await cli([...TRAIN, '--out', out, '--iters', '20', '--lr', '1e30', '--warmup', '0']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^charlm: step \d+: the loss \((NaN|Infinity)\) is not finite \(NaN or Inf\); first parameter with a non-finite gradient: '[\w.]+' \(element \d+ = (NaN|-?Infinity)\);.* No checkpoint had been written yet; lower --lr or pass --on-nan skip\n$/,
    );
    expect(existsSync(runPaths(out).checkpoint)).toBe(false);
  });
});

describe('disk full, unwritable run folder: refused before training starts', () => {
  it('too little free space (statfs faked with TINYFORMER_FAULT_FREE_BYTES)', async () => {
    const out = join(dir, 'full');
    const r = await cli([...TRAIN, '--out', out], { TINYFORMER_FAULT_FREE_BYTES: '1000000' });
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      'charlm: the run folder <tmp>/full has 1.0 MB free but the checkpoints need about 20.7 MB: free some space or pass --out on another disk\n',
    );
    // nothing was trained or written but the (empty) folder
    expect(readdirSync(out)).toEqual([]);
  });

  it('prepareRunFolder takes a fake statfs; resuming needs room for one temp copy only', () => {
    const folder = join(dir, 'statfs');
    const statfs = (free: number) => () => ({ bavail: free, bsize: 1 });
    const MB = 1024 * 1024;
    expect(() => prepareRunFolder(folder, 10 * MB, { statfs: statfs(40 * MB) })).toThrow(
      `the run folder ${folder} has 41.9 MB free but the checkpoints need about 48.2 MB: free some space or pass --out on another disk`,
    );
    prepareRunFolder(folder, 10 * MB, { statfs: statfs(47 * MB) });
    // with checkpoint and best already there, only the temp copy of the next write needs room
    writeFileSync(join(folder, 'checkpoint.safetensors'), '');
    writeFileSync(join(folder, 'best.safetensors'), '');
    expect(prepareRunFolder(folder, 10 * MB, { statfs: statfs(27 * MB) }).dir).toBe(folder);
  });

  it('a run folder that cannot be created (a path under a regular file), --out that is a file', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    let r = await cli([...TRAIN, '--out', join(file, 'run')]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "charlm: cannot create the run folder <tmp>/a-file/run: ENOTDIR: not a directory, mkdir '<tmp>/a-file/run'\n",
    );
    r = await cli([...TRAIN, '--out', file]);
    expect(r.err).toBe('charlm: --out <tmp>/a-file exists and is not a folder\n');
    const taken = join(dir, 'taken');
    mkdirSync(join(taken, 'best.safetensors'), { recursive: true });
    r = await cli([...TRAIN, '--out', taken]);
    expect(r.err).toBe('charlm: <tmp>/taken/best.safetensors exists and is not a file: move it away\n');
  });

  it('the disk filling up mid-run (a file-size limit): a clear error, the last good checkpoint intact', async () => {
    const out = join(dir, 'fills-up');
    const flags = ['--out', out, '--iters', '8', '--checkpoint-every', '2', '--eval-every', '100'];
    expect((await cli([...TRAIN, ...flags, '--stop-at', '2'])).code).toBe(0);
    const before = bytes(runPaths(out).checkpoint);
    // checkpoints are ~320 kB: with a 100 kB file-size limit the next one cannot be written (EFBIG, as ENOSPC would)
    const r = await start([...TRAIN, ...flags, '--resume'], { shell: 'ulimit -f 100' }).done;
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `charlm: cannot write ${out}/checkpoint.safetensors: EFBIG: file too large, write; the previous version of it is intact\n`,
    );
    expect(bytes(runPaths(out).checkpoint).equals(before)).toBe(true);
    expect(temps(out)).toEqual([]);
  });
});

describe('SIGINT / SIGTERM', () => {
  const flags = ['--iters', '150', '--eval-every', '1000', '--checkpoint-every', '1000', '--final-eval-iters', '200'];

  it('Ctrl-C finishes the step, checkpoints, prints a resume hint; the resumed run equals an uninterrupted one', async () => {
    const full = join(dir, 'sig-full');
    const part = join(dir, 'sig-part');
    const uninterrupted = start([...TRAIN, ...flags, '--out', full]).done;
    const p = start([...TRAIN, ...flags, '--out', part]);
    await until(() => metricLines(part) >= 3);
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.code, r.err).toBe(130);
    expect(r.err).toContain(
      'SIGINT: finishing this step and writing a checkpoint (press Ctrl-C again to exit at once; the last checkpoint stays intact)',
    );
    const stopped = /stopped \(SIGINT\) at step (\d+); checkpoint written to (.+)\n/.exec(r.out);
    expect(stopped, r.out).not.toBeNull();
    const step = Number(stopped![1]);
    expect(step).toBeLessThan(150);
    expect(stopped![2]).toBe(runPaths(part).checkpoint);
    expect(r.out).toContain(`resume with: charlm train --out ${part} --resume --data ${corpus} --iters 150\n`);
    expect(readCheckpoint(runPaths(part).checkpoint).meta.step).toBe(step);
    expect(losses(part).map(([s]) => s)).toEqual(Array.from({ length: step }, (_, i) => i + 1));

    // resume as the hint says (plus the backend and the small model's flags, which the checkpoint must match)
    const resumed = await start([...TRAIN, ...flags, '--out', part, '--resume']).done;
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toContain(`resuming ${part} at step ${step} of 150`);
    expect((await uninterrupted).code).toBe(0);
    expect(losses(part)).toEqual(losses(full));
    expect(losses(part)).toHaveLength(150);
  });

  it('SIGTERM then Ctrl-C: the second signal ends the process at once; the last checkpoint still loads', async () => {
    const out = join(dir, 'sig-twice');
    // from step 4 on each step first waits 5 s (event loop free), so the second signal lands inside a step however
    // fast or loaded the machine is
    const flags = ['--out', out, '--iters', '200', '--eval-every', '1000', '--checkpoint-every', '2'];
    const p = start([...TRAIN, ...flags], { env: { TINYFORMER_FAULT_SLOW_FROM_STEP: '4:5000' } });
    await until(() => metricLines(out) >= 3);
    p.child.kill('SIGTERM');
    await until(() => p.stderr().includes('SIGTERM: finishing this step'));
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.signal).toBe('SIGINT');
    expect(r.out).not.toContain('stopped (');
    const step = readCheckpoint(runPaths(out).checkpoint).meta.step as number;
    expect(step).toBeGreaterThanOrEqual(2);
    expect(step % 2).toBe(0);
  });
});
