// Pins the exact numbers of a short fixed-seed run, so a refactor of the training loop that changes any arithmetic,
// batch order or step count shows up here (the snapshot holds doubles in their shortest exact form).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readMetrics, runPaths } from '../src/run-folder.js';
import { CORPUS_TEXT, runCli, SMALL } from './helpers.js';

it('a fixed-seed train run gives the same losses, gradient norms and validation losses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'charlm-seed-'));
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, CORPUS_TEXT);
  const out = join(dir, 'run');
  const r = await runCli(
    [
      'train',
      '--data',
      corpus,
      '--out',
      out,
      '--backend',
      'cpu',
      '--seed',
      '11',
      '--iters',
      '6',
      '--accum',
      '2',
      '--eval-every',
      '3',
      '--eval-iters',
      '2',
      '--sample-tokens',
      '4',
      ...SMALL,
    ],
    { dir },
  );
  expect(r.code, r.err).toBe(0);
  const rows = readMetrics(runPaths(out)).map(({ step, loss, lr, grad_norm, val_loss }) => ({
    step,
    loss,
    lr,
    grad_norm,
    val_loss,
  }));
  expect(rows).toMatchInlineSnapshot(`
    [
      {
        "grad_norm": 1.3536742366537462,
        "loss": 3.3671507835388184,
        "lr": 0.00005882352941176471,
        "step": 1,
        "val_loss": undefined,
      },
      {
        "grad_norm": 1.2744632638371187,
        "loss": 3.3494962453842163,
        "lr": 0.00011764705882352942,
        "step": 2,
        "val_loss": undefined,
      },
      {
        "grad_norm": 1.3790699804860813,
        "loss": 3.3458794355392456,
        "lr": 0.00017647058823529413,
        "step": 3,
        "val_loss": 3.3504594564437866,
      },
      {
        "grad_norm": 1.273897380519587,
        "loss": 3.348181962966919,
        "lr": 0.00023529411764705883,
        "step": 4,
        "val_loss": undefined,
      },
      {
        "grad_norm": 1.212794694777186,
        "loss": 3.337583899497986,
        "lr": 0.0002941176470588235,
        "step": 5,
        "val_loss": undefined,
      },
      {
        "grad_norm": 1.3080087749175195,
        "loss": 3.32628858089447,
        "lr": 0.00035294117647058826,
        "step": 6,
        "val_loss": undefined,
      },
      {
        "grad_norm": undefined,
        "loss": undefined,
        "lr": undefined,
        "step": 6,
        "val_loss": 3.3091999328136446,
      },
    ]
  `);
});
