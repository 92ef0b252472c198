// Reliability: what a non-finite step reports, and the clean-up of temp files that killed writers leave behind.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor } from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { DecoderLM } from './decoder-lm.js';
import { removeStaleTempFiles, writeFileAtomic } from './node.js';
import { type Batch, NonFiniteError, Trainer } from './trainer.js';

const T = 8;
const config = { vocabSize: 8, contextLength: T, dModel: 16, nLayers: 2, nHeads: 2 };
const schedule = { lr: 1e-2, warmup: 0, decaySteps: 100, minLr: 1e-3 };

function batch(): Batch {
  const x = Int32Array.from({ length: 2 * T }, (_, i) => i % 8);
  const y = Int32Array.from({ length: 2 * T }, (_, i) => (i + 1) % 8);
  return { x, y, batchSize: 2, contextLength: T };
}

async function failure(t: Trainer, next: () => Batch = batch): Promise<NonFiniteError> {
  try {
    await t.trainStep(next);
  } catch (e) {
    expect(e).toBeInstanceOf(NonFiniteError);
    return e as NonFiniteError;
  }
  return expect.fail('expected a NonFiniteError');
}

describe('a non-finite step names the step and the parameter', () => {
  it('a finite loss with a NaN gradient names that parameter', async () => {
    const m = new DecoderLM(config, { seed: 1 });
    const t = new Trainer(m, { schedule });
    await t.trainStep(batch);
    const p = m.blocks[1]!.attn.proj.weight;
    const e = await failure(t, () => {
      // gradients accumulate (+=) into .grad, so a NaN seeded before backward poisons exactly this parameter
      p.grad = tensor(new Float32Array(p.size).fill(Number.NaN), p.shape).keep();
      return batch();
    });
    expect(e.step).toBe(1);
    expect(e.gradient?.parameter).toBe('blocks.1.attn.proj.weight');
    expect(e.weight).toBeNull();
    expect(e.message).toBe(
      "step 1: the gradient of parameter 'blocks.1.attn.proj.weight' (element 0 = NaN) is not finite (NaN or Inf); " +
        'stopping before the update so the weights stay intact',
    );
  });

  it('a NaN loss names the first parameter with a non-finite gradient and the first non-finite weight', async () => {
    const m = new DecoderLM(config, { seed: 2 });
    const t = new Trainer(m, { schedule });
    const w = m.blocks[0]!.ffn.parameters()[0]!;
    const v = w.dataSync();
    v[3] = Number.POSITIVE_INFINITY;
    w.setValues(v);
    const e = await failure(t);
    expect(e.step).toBe(0);
    expect(e.message).toMatch(/^step 0: the loss \(NaN\) is not finite \(NaN or Inf\); /);
    expect(e.message).toContain("first parameter with a non-finite gradient: 'wte.weight' (element ");
    expect(e.message).toContain(`first parameter whose values are non-finite: '${w.name}' (element 3 = Infinity)`);
  });
});

describe('temp files of killed writers', () => {
  it('removeStaleTempFiles removes only temp files of this target whose writer process is gone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stale-'));
    const target = join(dir, 'checkpoint.safetensors');
    // a pid that surely is gone: a child that has already exited
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const names = {
      dead: `.checkpoint.safetensors.tmp-${dead}-1700000000000`,
      live: `.checkpoint.safetensors.tmp-${process.ppid}-1700000000001`,
      other: `.best.safetensors.tmp-${dead}-1700000000002`,
      user: 'notes.tmp-1-2',
    };
    for (const n of Object.values(names)) writeFileSync(join(dir, n), 'partial');
    expect(removeStaleTempFiles(target)).toEqual([names.dead]);
    expect(readdirSync(dir).sort()).toEqual([names.other, names.live, names.user].sort());
    // writeFileAtomic cleans up before it writes
    writeFileAtomic(join(dir, 'best.safetensors'), 'ok');
    expect(readdirSync(dir).sort()).toEqual(['best.safetensors', names.live, names.user].sort());
    expect(readFileSync(join(dir, 'best.safetensors'), 'utf8')).toBe('ok');
  });
});
