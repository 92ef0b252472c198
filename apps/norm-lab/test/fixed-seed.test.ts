// Pins the exact numbers of a short fixed-seed lab run, so a refactor of the training loop that changes any
// arithmetic, batch order or step count shows up here (the snapshot holds doubles in their shortest exact form).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend, setBackend } from '@tinyformer/tensor';
import { expect, it } from 'vitest';
import { type LabContext, loadDataset } from '../src/context.js';
import { constantLr, trainRun } from '../src/train-run.js';

it('a fixed-seed lab run gives the same losses, gradient norms and validation losses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'norm-lab-seed-'));
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, 'The quick brown fox jumps over the lazy dog. A tiny model learns tiny things.\n'.repeat(40));
  const { dataset, source } = loadDataset({ data: corpus });
  const backend = new CpuBackend();
  setBackend(backend);
  const ctx: LabContext = { backend, speedBackends: [], dataset, dataSource: source, seed: 5, log: () => {} };
  const run = await trainRun(ctx, {
    label: 'pinned',
    model: { contextLength: 8, dModel: 16, nLayers: 2, nHeads: 2 },
    batchSize: 3,
    steps: 6,
    schedule: constantLr(3e-3, 2, 6),
    seed: 5,
    evalEvery: 2,
    evalBatches: 2,
    finalEvalBatches: 2,
    gradNormSteps: [0, 5],
  });
  const { losses, gradNormCurve, val, finalVal, gradNorms, stepsRun } = run;
  expect({ stepsRun, losses, gradNormCurve, val, finalVal, gradNorms }).toMatchInlineSnapshot(`
    {
      "finalVal": 3.311168909072876,
      "gradNormCurve": [
        1.3959726529790244,
        1.0911357153861174,
        1.2474013974165876,
        1.679852002981991,
        1.233836092587744,
        1.148491942484138,
      ],
      "gradNorms": [
        {
          "layers": [
            {
              "layer": 0,
              "norm": 0.1931158986121255,
            },
            {
              "layer": 1,
              "norm": 0.1704714081212887,
            },
          ],
          "other": [
            {
              "group": "wte",
              "norm": 1.3718351875385026,
            },
            {
              "group": "finalNorm",
              "norm": 0.02130170332568031,
            },
          ],
          "step": 0,
          "total": 1.3959727058997242,
        },
        {
          "layers": [
            {
              "layer": 0,
              "norm": 0.20054330127956627,
            },
            {
              "layer": 1,
              "norm": 0.19115768674620454,
            },
          ],
          "other": [
            {
              "group": "wte",
              "norm": 1.1141255172305435,
            },
            {
              "group": "finalNorm",
              "norm": 0.031609214096866636,
            },
          ],
          "step": 5,
          "total": 1.148491918757078,
        },
      ],
      "losses": [
        3.467803955078125,
        3.4305169582366943,
        3.4212892055511475,
        3.421567440032959,
        3.3559625148773193,
        3.3457789421081543,
      ],
      "stepsRun": 6,
      "val": [
        {
          "loss": 3.425449848175049,
          "step": 2,
        },
        {
          "loss": 3.362900972366333,
          "step": 4,
        },
        {
          "loss": 3.311168909072876,
          "step": 6,
        },
      ],
    }
  `);
});
