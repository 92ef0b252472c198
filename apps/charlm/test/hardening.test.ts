// Issue 15's failures, each reproduced: closed pipes, non-finite weights, one run per folder, signals, a full disk
// while appending metrics, special files, damaged checkpoint metadata and sizes from flags. RELIABILITY.md lists
// each case with the message a user sees.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, parseCheckpoint } from '@tinyformer/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS_TEXT, cliPath, metricLines, runCli, SMALL, startCli, until } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'charlm-hardening-'));
const corpus = join(dir, 'corpus.txt');
beforeAll(() => writeFileSync(corpus, CORPUS_TEXT));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const trainArgs = (out: string, extra: string[] = []) => [
  'train',
  '--data',
  corpus,
  '--out',
  out,
  '--backend',
  'cpu',
  '--iters',
  '6',
  '--eval-every',
  '3',
  '--eval-iters',
  '2',
  '--checkpoint-every',
  '3',
  '--sample-tokens',
  '5',
  '--final-eval-iters',
  '4',
  ...SMALL,
  ...extra,
];

/** Runs the compiled CLI in a shell pipeline and returns the CLI's own exit status (PIPESTATUS[0]) and stderr. */
function pipeline(args: string[], reader: string): { status: number; stderr: string } {
  const quoted = [process.execPath, cliPath(), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync(
    'bash',
    ['-c', `${quoted} 2>"${dir}/stderr.txt" | ${reader} >/dev/null; exit \${PIPESTATUS[0]}`],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  return { status: r.status ?? -1, stderr: readFileSync(join(dir, 'stderr.txt'), 'utf8') };
}

describe('a closed stdout never costs a run (no. 2)', () => {
  it('train | head -n3: the CLI stops quietly after a checkpoint (exit 141), and --resume continues', async () => {
    const out = join(dir, 'epipe');
    const r = pipeline(trainArgs(out, ['--iters', '200', '--checkpoint-every', '1000']), 'head -n 3');
    expect(r.stderr).not.toMatch(/EPIPE|Error:|at .*\.js/);
    expect(r.status).toBe(141);
    const ckpt = parseCheckpoint(readFileSync(join(out, 'checkpoint.safetensors')));
    const step = (ckpt.meta as { step: number }).step;
    expect(step).toBeGreaterThan(0);
    expect(step).toBeLessThan(200);
    const resumed = await runCli([
      'train',
      '--out',
      out,
      '--resume',
      '--data',
      corpus,
      '--backend',
      'cpu',
      '--iters',
      String(step + 2),
    ]);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toMatch(new RegExp(`resuming .* at step ${step} of ${step + 2}`));
  });

  it('sample | head -c5: stops generating, no stack trace, exit 141', async () => {
    const out = join(dir, 'for-sample');
    expect((await runCli(trainArgs(out))).code).toBe(0);
    const r = pipeline(['sample', '--checkpoint', out, '--tokens', '100000', '--backend', 'cpu'], 'head -c 5');
    expect(r.status).toBe(141);
    expect(r.stderr).not.toMatch(/EPIPE|Error:|at .*\.js/);
  });
});

describe('only finite weights are checkpoints (no. 3)', () => {
  it('--lr 1e300: no checkpoint is written and the error says so; sample and eval refuse a non-finite file', async () => {
    const out = join(dir, 'diverged');
    const r = await runCli(trainArgs(out, ['--lr', '1e300', '--checkpoint-every', '1']));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^charlm: step 1: the weights are no longer finite \("[\w.]+" holds (Infinity|-Infinity|NaN) at index \d+\), so no checkpoint was written; no .*checkpoint\.safetensors had been written yet\. Lower --lr\n$/,
    );
    expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(false);

    // a non-finite file made by hand (an older version could write one): refused by name
    const good = join(dir, 'for-sample', 'checkpoint.safetensors');
    const { tensors, metadata } = decodeSafetensors(readFileSync(good), good);
    tensors.get('wte.weight')!.data[7] = Number.NaN;
    const bad = join(dir, 'nan.safetensors');
    writeFileSync(bad, encodeSafetensors(tensors, metadata));
    for (const cmd of ['sample', 'eval']) {
      const s = await runCli([
        cmd,
        '--checkpoint',
        bad,
        '--backend',
        'cpu',
        ...(cmd === 'eval' ? ['--data', corpus] : []),
      ]);
      expect(s.code).toBe(1);
      expect(s.err).toContain(
        `holds non-finite weights ("wte.weight" is NaN at index 7): it cannot be sampled or evaluated`,
      );
    }
  });
});

describe('one run per folder (no. 4)', () => {
  it('a second training into a busy --out fails at once naming the pid; a stale lock is taken over', async () => {
    const out = join(dir, 'busy');
    const first = spawn(process.execPath, [cliPath(), ...trainArgs(out, ['--iters', '100000'])], { stdio: 'ignore' });
    try {
      // wait for its first checkpoint (the lock is taken before that)
      const ckpt = join(out, 'checkpoint.safetensors');
      for (let i = 0; i < 600 && !existsSync(ckpt); i++) await new Promise((r) => setTimeout(r, 50));
      const second = await runCli(trainArgs(out, ['--force']));
      expect(second.code).toBe(1);
      expect(second.err).toContain(`the run folder ${out} is in use by pid ${first.pid} on ${hostname()}`);
    } finally {
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
    }
    // the killed run's lock is stale: the next run takes it over and trains
    expect(existsSync(join(out, '.lock'))).toBe(true);
    const third = await runCli(trainArgs(out, ['--force']));
    expect(third.code, third.err).toBe(0);
    expect(third.out).toMatch(/--force: removed the previous run/);
    expect(existsSync(join(out, '.lock'))).toBe(false);
  });
});

describe('signals (no. 5)', () => {
  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`${sig}: a checkpoint, then exit ${code}`, async () => {
      const out = join(dir, `sig-${sig}`);
      const p = startCli(trainArgs(out, ['--iters', '100000', '--eval-every', '100000']));
      for (let i = 0; i < 400 && !p.stdout().includes('run folder:'); i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500));
      const t0 = Date.now();
      p.child.kill(sig);
      const exit = (await p.done).code;
      expect(exit).toBe(code);
      expect(Date.now() - t0, 'stops after the step under way, not after 100,000').toBeLessThan(15_000);
      expect(p.stdout()).toMatch(new RegExp(`stopped \\(${sig}\\) at step \\d+; checkpoint written`));
      expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(true);
    });
  }
});

describe('Ctrl-C in the middle of a long step (no. 5)', () => {
  it('the first is acknowledged at once; a second ends the run at once; the last checkpoint is intact', async () => {
    const out = join(dir, 'long-step');
    // steps of 2-3 s on 2 cores (4,096 tokens of a 3M-parameter model; at batch 32 the step outgrows the 2 GiB wasm
    // arena and runs 20x slower on the TS kernels); the process group gets the signals, as a terminal's Ctrl-C does
    const big = ['--context', '256', '--d-model', '256', '--layers', '4', '--heads', '4', '--batch-size', '16'];
    const args = [
      'train',
      '--data',
      corpus,
      '--out',
      out,
      '--backend',
      'cpu',
      '--iters',
      '100000',
      '--eval-every',
      '100000',
      '--checkpoint-every',
      '1',
      '--sample-tokens',
      '5',
      ...big,
    ];
    const p = startCli(args, { detached: true });
    const child = p.child;
    const stderr = p.stderr;
    const ckpt = join(out, 'checkpoint.safetensors');
    for (let i = 0; i < 1200 && !existsSync(ckpt); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(ckpt), stderr()).toBe(true);
    await new Promise((r) => setTimeout(r, 300)); // inside the next step
    const t0 = Date.now();
    process.kill(-child.pid!, 'SIGINT');
    await until(() => stderr().includes('SIGINT: finishing this step'), 2000);
    // the signal lands early in a 2-3 s step (longer on a loaded machine): an acknowledgement within 2 s came from the
    // watcher, not from the trainer between steps
    expect(Date.now() - t0, 'the first Ctrl-C is acknowledged at once').toBeLessThan(2000);
    process.kill(-child.pid!, 'SIGINT');
    const t1 = Date.now();
    await p.done;
    expect(Date.now() - t1, 'a second Ctrl-C ends the run at once, mid-step').toBeLessThan(2000);
    expect(stderr()).toContain('SIGINT again: stopping at once; the last checkpoint is intact');
    // whatever moment it hit, the checkpoint on disk loads
    const meta = parseCheckpoint(readFileSync(ckpt)).meta as { step: number };
    expect(meta.step).toBeGreaterThan(0);
  });
});

describe('a signal during a long evaluation (no. 5)', () => {
  it('ends the evaluation at once: a checkpoint of that step, no half-done val loss, exit 130', async () => {
    const out = join(dir, 'long-eval');
    const args = trainArgs(out, [
      '--iters',
      '100',
      '--eval-every',
      '2',
      '--eval-iters',
      '100000',
      '--checkpoint-every',
      '1000',
    ]);
    const p = startCli(args);
    const metrics = join(out, 'metrics.jsonl');
    await until(() => metricLines(out) >= 1);
    await new Promise((r) => setTimeout(r, 1500)); // step 2 is done; its 100,000-batch evaluation is under way
    const t0 = Date.now();
    p.child.kill('SIGINT');
    expect((await p.done).code).toBe(130);
    // the whole 100,000-batch evaluation would take minutes; stopping, writing the checkpoint and exiting take a
    // second or two (more on a loaded CI machine)
    expect(Date.now() - t0, 'the evaluation stops at once').toBeLessThan(15_000);
    expect(p.stdout()).toMatch(/stopped \(SIGINT\) at step 2; checkpoint written/);
    const last = JSON.parse(readFileSync(metrics, 'utf8').trim().split('\n').at(-1)!);
    expect(last.step).toBe(2);
    expect(last.val_loss).toBeUndefined();
    expect((parseCheckpoint(readFileSync(join(out, 'checkpoint.safetensors'))).meta as { step: number }).step).toBe(2);
  });
});

describe('metrics lines are whole or not at all (no. 6)', () => {
  it('a full disk mid-line: a named error, no torn line; a torn line from an older crash is dropped on --resume', async () => {
    const out = join(dir, 'enospc');
    const r = await runCli(trainArgs(out), { env: { TINYFORMER_FAULT_METRICS_ENOSPC_AT_STEP: '5' } });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^charlm: cannot append to .*metrics\.jsonl: ENOSPC: no space left on device.*the line for step 5 was not written/,
    );
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean);
    expect(lines.map((l) => JSON.parse(l).step)).toEqual([1, 2, 3, 4]);

    // an older version's crash left half a line: --resume drops it with a warning and goes on
    writeFileSync(join(out, 'metrics.jsonl'), `${lines.join('\n')}\n{"step":5,"loss":2.1`);
    const resumed = await runCli([
      'train',
      '--out',
      out,
      '--resume',
      '--data',
      corpus,
      '--backend',
      'cpu',
      '--iters',
      '6',
    ]);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toMatch(/warning: .*metrics\.jsonl line 5 is torn .*: dropped/);
    const after = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(after.filter((m) => typeof m.loss === 'number').map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('special files and damaged metadata (nos. 7, 8) and sizes from flags (no. 1)', () => {
  it('a FIFO as --data or --checkpoint: a named error at once', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    const d = await runCli(trainArgs(join(dir, 'fifo-run')).map((a) => (a === corpus ? fifo : a)));
    expect(d.err).toContain(`${fifo}: is not a regular file (a pipe, socket or device?)`);
    const c = await runCli(['sample', '--checkpoint', fifo, '--backend', 'cpu']);
    expect(c.err).toContain(`checkpoint ${fifo}: is not a regular file`);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('damaged resume metadata gets one named error per field', async () => {
    const out = join(dir, 'meta');
    expect((await runCli(trainArgs(out))).code).toBe(0);
    const file = join(out, 'checkpoint.safetensors');
    const original = readFileSync(file);
    const { tensors, metadata } = decodeSafetensors(original, file);
    const cases: [(m: Record<string, unknown>) => void, string][] = [
      [(m) => (m.samplerState = [0, 0, 0, 0]), 'samplerState must be four uint32 words, not all zero'],
      [
        (m) => ((m.settings as Record<string, unknown>).iters = 'many'),
        'settings.iters must be an integer in [1, 10,000,000]',
      ],
      [
        (m) => ((m.settings as Record<string, unknown>).batchSize = 1e9),
        'settings.batchSize must be an integer in [1, 4096]',
      ],
      [(m) => (m.step = -3), 'step must be an integer >= 0'],
      [(m) => (m.vocab = 'abc'), 'vocabulary: expected an array of characters'],
      [(m) => (m.bestVal = 'NaN'), 'bestVal must be null or a finite number >= 0'],
    ];
    for (const [damage, message] of cases) {
      const meta = JSON.parse(metadata.meta!) as Record<string, unknown>;
      damage(meta);
      writeFileSync(file, encodeSafetensors(tensors, { ...metadata, meta: JSON.stringify(meta) }));
      const r = await runCli(['train', '--out', out, '--resume', '--data', corpus, '--backend', 'cpu', '--iters', '8']);
      expect(r.code, message).toBe(1);
      expect(r.err).toContain(`--resume: ${file} has damaged metadata: ${message}`);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    writeFileSync(file, original);
  });

  it('sizes from flags have upper bounds', async () => {
    const r = await runCli(trainArgs(join(dir, 'huge'), ['--batch-size', '1000000']));
    expect(r.err).toBe('charlm: --batch-size must be at most 4,096, got "1000000"\n');
    const t = await runCli(['sample', '--checkpoint', join(dir, 'meta'), '--tokens', '99999999']);
    expect(t.err).toBe('charlm: --tokens must be at most 1,000,000, got "99999999"\n');
    const l = await runCli(trainArgs(join(dir, 'deep'), ['--layers', '100000']));
    expect(l.err).toMatch(/nLayers \(--layers\): Too big: expected number to be <=1024/);
  });
});
