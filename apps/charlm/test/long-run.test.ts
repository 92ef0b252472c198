// Reliability, long runs: memory stays flat over a few hundred steps of the real training loop (runTrain, the code
// behind `charlm train`), and the checkpoints it leaves (latest and best by validation loss) both load, best holding
// the lowest validation loss seen.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readCheckpoint } from '@tinyformer/model/node';
import { PRESETS } from '@tinyformer/recipe';
import { getBackend } from '@tinyformer/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { runEval } from '../src/eval.js';
import { readMetrics, runPaths } from '../src/run-folder.js';
import { runTrain } from '../src/train.js';
import { CORPUS_TEXT } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'charlm-long-'));
const corpus = join(dir, 'corpus.txt');
const out = join(dir, 'run');
const ITERS = 300;
const EVERY = 25;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Sample {
  step: number;
  buffers: number;
  heapMB: number;
  arrayBuffersMB: number;
}
const samples: Sample[] = [];

beforeAll(async () => {
  writeFileSync(corpus, CORPUS_TEXT);
  const log = (line: string) => {
    // the eval line comes at the same point of every eval step: after the update and the validation loss
    const m = /^step (\d+): train /.exec(line);
    if (!m) return;
    gc();
    const mem = process.memoryUsage();
    samples.push({
      step: Number(m[1]),
      buffers: getBackend().memory().buffers,
      heapMB: mem.heapUsed / 2 ** 20,
      arrayBuffersMB: mem.arrayBuffers / 2 ** 20,
    });
  };
  await runTrain({
    settings: {
      ...PRESETS.tiny,
      model: { contextLength: 16, dModel: 32, nLayers: 2, nHeads: 2 },
      batchSize: 4,
      iters: ITERS,
      evalEvery: EVERY,
      evalIters: 4,
      checkpointEvery: EVERY,
      sampleTokens: 20,
    },
    data: corpus,
    out,
    backend: 'cpu',
    seed: 9,
    resume: false,
    onNonFinite: 'throw',
    finalEvalIters: 200,
    probe: false,
    log,
  });
}, 60_000);

describe(`a ${ITERS}-step run (eval, sample and checkpoint every ${EVERY} steps)`, () => {
  it('memory stays flat: live CPU buffers do not grow after warm-up; heap and array buffers stay bounded', () => {
    expect(samples.map((s) => s.step)).toEqual(Array.from({ length: ITERS / EVERY - 1 }, (_, i) => (i + 1) * EVERY));
    // warm-up: the first two evals (lazy kernels, pools and JIT settle)
    const [base, ...rest] = samples.slice(1);
    console.log(
      'long-run memory: ' +
        samples
          .map(
            (s) =>
              `step ${s.step}: ${s.buffers} buffers, heap ${s.heapMB.toFixed(1)} MB, array buffers ${s.arrayBuffersMB.toFixed(1)} MB`,
          )
          .join('; '),
    );
    // buffers: not one more (the model's parameters and AdamW's moments, nothing else)
    for (const s of rest) expect(s.buffers, `live buffers at step ${s.step}`).toBe(base!.buffers);
    // heap: at most 4 MB above the post-warm-up level over 250 steps (V8's own bookkeeping wobbles by ~1 MB;
    // a per-step leak of even 16 kB would exceed it)
    for (const s of rest) expect(s.heapMB - base!.heapMB, `heap growth at step ${s.step}`).toBeLessThan(4);
    for (const s of rest)
      expect(s.arrayBuffersMB - base!.arrayBuffersMB, `array buffers at step ${s.step}`).toBeLessThan(4);
  });

  it('checkpoint.safetensors and best.safetensors both load; best holds the lowest validation loss seen', async () => {
    const p = runPaths(out);
    const latest = readCheckpoint(p.checkpoint);
    const best = readCheckpoint(p.best);
    expect(latest.meta.step).toBe(ITERS);
    const vals = readMetrics(p).filter((m) => typeof m.val_loss === 'number');
    expect(vals).toHaveLength(ITERS / EVERY); // the periodic ones and the final one
    const lowest = vals.reduce((a, b) => (b.val_loss! < a.val_loss! ? b : a));
    expect(best.meta.bestVal).toBe(lowest.val_loss);
    expect(best.meta.step).toBe(lowest.step);
    // and best's weights really score that loss: evaluating best on the same fixed batches gives it back, bit for bit
    const { valLoss } = await runEval({
      checkpoint: p.best,
      data: corpus,
      batches: lowest.final ? 200 : 4,
      batchSize: 4,
      backend: 'cpu',
      log: () => {},
    });
    expect(valLoss).toBe(lowest.val_loss);
  });
});
