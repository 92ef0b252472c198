import { CpuBackend, getBackend, setBackend } from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import type { ModelConfigInput } from './config.js';
import { DecoderLM } from './decoder-lm.js';
import type { LrSchedule } from './optim.js';
import { type Batch, NonFiniteError, Trainer } from './trainer.js';

const V = 8;
const T = 8;
const config: ModelConfigInput = { vocabSize: V, contextLength: T, dModel: 16, nLayers: 2, nHeads: 2 };

/** A synthetic corpus with structure to learn: a repeating pattern with a little variety. */
const corpus = Array.from(
  { length: 400 },
  (_, i) => [0, 1, 2, 3, 4, 5, 6, 7, 1, 3, 5, 7][i % 12]! ^ (i % 48 < 24 ? 0 : 1),
);

/** Batches of `batchSize` windows, deterministic; each call advances. */
function sampler(batchSize: number, start = 0): () => Batch {
  let k = start;
  return () => {
    const x = new Int32Array(batchSize * T);
    const y = new Int32Array(batchSize * T);
    for (let b = 0; b < batchSize; b++) {
      const s = (k * 5 + b * 37) % (corpus.length - T - 1);
      for (let t = 0; t < T; t++) {
        x[b * T + t] = corpus[s + t]!;
        y[b * T + t] = corpus[s + t + 1]!;
      }
    }
    k++;
    return { x, y, batchSize, contextLength: T };
  };
}

function concatBatches(a: Batch, b: Batch): Batch {
  const x = new Int32Array(a.x.length + b.x.length);
  x.set(a.x);
  x.set(b.x, a.x.length);
  const y = new Int32Array(a.y.length + b.y.length);
  y.set(a.y);
  y.set(b.y, a.y.length);
  return { x, y, batchSize: a.batchSize + b.batchSize, contextLength: T };
}

function snapshot(m: DecoderLM): Float32Array[] {
  return m.parameters().map((p) => p.dataSync());
}

/** Bitwise equality that treats NaN as equal to NaN. */
function sameBits(a: Float32Array[], b: Float32Array[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) =>
      Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(
        Buffer.from(b[i]!.buffer, b[i]!.byteOffset, b[i]!.byteLength),
      ),
    )
  );
}

const schedule: LrSchedule = { lr: 1e-2, warmup: 5, decaySteps: 200, minLr: 1e-3 };
/** lr = minLr = lr at every step, so skipping a step does not shift the schedule */
const flat: LrSchedule = { lr: 5e-3, warmup: 0, decaySteps: 1000, minLr: 5e-3 };

describe('Trainer', () => {
  it('the loss decreases on a small synthetic corpus over 100 steps', async () => {
    const t = new Trainer(new DecoderLM(config, { seed: 1 }), { schedule, weightDecay: 0.01 });
    const next = sampler(4);
    const losses: number[] = [];
    for (let s = 0; s < 100; s++) {
      const r = await t.trainStep(next);
      expect(r.step).toBe(s);
      expect(r.skipped).toBe(false);
      expect(Number.isFinite(r.loss) && Number.isFinite(r.gradNorm)).toBe(true);
      losses.push(r.loss);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(losses.slice(0, 5));
    const last = mean(losses.slice(-5));
    expect(first).toBeGreaterThan(Math.log(V) * 0.9); // starts near uniform
    expect(last).toBeLessThan(first * 0.5);
    expect(t.step).toBe(100);
  });

  it('reports the scheduled learning rate', async () => {
    const t = new Trainer(new DecoderLM(config, { seed: 1 }), { schedule });
    const next = sampler(1);
    const r0 = await t.trainStep(next);
    expect(r0.lr).toBeCloseTo(1e-2 / 6, 12);
    expect(t.optimizer.lr).toBe(r0.lr);
    expect(t.lrAt(5)).toBeCloseTo(1e-2, 12);
  });

  for (const gradClip of [1, 0]) {
    it(`gradient accumulation: 2 micro-batches of B equal one batch of 2B in the first update (gradClip ${gradClip})`, async () => {
      const a = new DecoderLM(config, { seed: 2 });
      const b = new DecoderLM(config, { seed: 2 });
      const ta = new Trainer(a, { schedule, gradAccumulation: 2, gradClip });
      const tb = new Trainer(b, { schedule, gradAccumulation: 1, gradClip });
      const next = sampler(2);
      const b1 = next();
      const b2 = next();
      const micro = [b1, b2];
      const ra = await ta.trainStep(() => micro.shift()!);
      expect(micro).toHaveLength(0); // nextBatch was called once per micro-batch
      const rb = await tb.trainStep(() => concatBatches(b1, b2));
      expect(ra.loss).toBeCloseTo(rb.loss, 5);
      expect(ra.gradNorm).toBeCloseTo(rb.gradNorm, 5);
      if (gradClip > 0) expect(ra.gradNorm).toBeGreaterThan(gradClip); // the clipping path is exercised
      const pa = snapshot(a);
      const pb = snapshot(b);
      const init = snapshot(new DecoderLM(config, { seed: 2 }));
      let moved = 0;
      pa.forEach((x, i) => {
        for (let j = 0; j < x.length; j++) {
          expect(Math.abs(x[j]! - pb[i]![j]!)).toBeLessThan(2e-6);
          moved = Math.max(moved, Math.abs(x[j]! - init[i]![j]!));
        }
      });
      expect(moved).toBeGreaterThan(1e-3); // the update really happened
    });
  }

  it('accumulation is not a no-op: one micro-batch alone gives a different update', async () => {
    const a = new DecoderLM(config, { seed: 2 });
    const b = new DecoderLM(config, { seed: 2 });
    const next = sampler(2);
    const b1 = next();
    const b2 = next();
    const micro = [b1, b2];
    await new Trainer(a, { schedule, gradAccumulation: 2 }).trainStep(() => micro.shift()!);
    await new Trainer(b, { schedule }).trainStep(() => b1);
    const diff = Math.max(
      ...snapshot(a).map((x, i) => Math.max(...x.map((v, j) => Math.abs(v - snapshot(b)[i]![j]!)))),
    );
    expect(diff).toBeGreaterThan(1e-4);
  });

  it('a non-finite loss throws NonFiniteError naming the step, before any update', async () => {
    const m = new DecoderLM(config, { seed: 3 });
    const t = new Trainer(m, { schedule });
    const next = sampler(2);
    for (let s = 0; s < 3; s++) await t.trainStep(next);
    const w = m.blocks[1]!.ffn.namedParameters().find(([n]) => n === 'w2.weight')![1];
    const vals = w.dataSync();
    vals[5] = Number.NaN;
    w.setValues(vals);
    const before = snapshot(m);
    const optStep = t.optimizer.step;
    let err: unknown;
    try {
      await t.trainStep(next);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteError);
    const e = err as NonFiniteError;
    expect(e.step).toBe(3);
    expect(e.message).toMatch(/^step 3: the loss \(NaN\) is not finite/);
    expect(e.message).toContain('weights stay intact');
    expect(sameBits(snapshot(m), before)).toBe(true);
    expect(t.optimizer.step).toBe(optStep);
    // the accumulated gradients were dropped, so a later step does not reuse them
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it("onNonFinite 'skip' skips the step and leaves weights and optimizer state unchanged", async () => {
    const ref = new DecoderLM(config, { seed: 4 });
    const m = new DecoderLM(config, { seed: 4 });
    const tr = new Trainer(ref, { schedule: flat, onNonFinite: 'skip' });
    const t = new Trainer(m, { schedule: flat, onNonFinite: 'skip' });
    const batches = Array.from({ length: 4 }, sampler(2));
    for (let s = 0; s < 2; s++) {
      await tr.trainStep(() => batches[s]!);
      await t.trainStep(() => batches[s]!);
    }
    // poison one weight, take a step: skipped, nothing changes
    const w = m.wte.weight;
    const good = w.dataSync();
    const bad = good.slice();
    bad[3] = Number.NaN;
    w.setValues(bad);
    const before = snapshot(m);
    const optState = await t.optimizer.getState();
    const r = await t.trainStep(() => batches[2]!);
    expect(r.skipped).toBe(true);
    expect(r.step).toBe(2);
    expect(Number.isNaN(r.loss)).toBe(true);
    expect(t.step).toBe(3);
    expect(sameBits(snapshot(m), before)).toBe(true);
    const after = await t.optimizer.getState();
    expect(after.step).toBe(optState.step);
    for (const k of Object.keys(optState.m)) {
      expect(sameBits([after.m[k]!, after.v[k]!], [optState.m[k]!, optState.v[k]!])).toBe(true);
    }
    // repair the weight: training continues exactly as if the bad step had never been taken
    w.setValues(good);
    const r2 = await t.trainStep(() => batches[3]!);
    const rr = await tr.trainStep(() => batches[3]!);
    expect(r2.skipped).toBe(false);
    expect(r2.loss).toBe(rr.loss);
    expect(sameBits(snapshot(m), snapshot(ref))).toBe(true);
  });

  it('memory: live buffers do not grow over 30 training steps after the first 3', async () => {
    // a backend of its own, so the count is this model's alone
    const prev = getBackend();
    const backend = new CpuBackend();
    setBackend(backend);
    let m: DecoderLM;
    try {
      m = new DecoderLM(config, { seed: 5 });
    } finally {
      setBackend(prev);
    }
    const t = new Trainer(m, { schedule, gradAccumulation: 2 });
    expect(t.backend).toBe(backend);
    const next = sampler(2);
    for (let s = 0; s < 3; s++) await t.trainStep(next);
    const base = t.backend.memory().buffers;
    const counts: number[] = [];
    for (let s = 0; s < 30; s++) {
      await t.trainStep(next);
      counts.push(t.backend.memory().buffers);
    }
    expect(counts.every((c) => c === base)).toBe(true);
    // ...and the count is the model and optimizer state, not a leak frozen at a high level:
    // parameters + AdamW m and v per parameter
    expect(base).toBeLessThanOrEqual(3 * m.parameters().length + 8);
  });

  it('memory does not grow when steps are skipped or throw', async () => {
    const m = new DecoderLM(config, { seed: 6 });
    const t = new Trainer(m, { schedule, onNonFinite: 'skip' });
    const next = sampler(2);
    await t.trainStep(next);
    const w = m.wte.weight;
    const vals = w.dataSync();
    vals[0] = Number.POSITIVE_INFINITY;
    w.setValues(vals);
    await t.trainStep(next);
    const base = t.backend.memory().buffers;
    for (let s = 0; s < 5; s++) expect((await t.trainStep(next)).skipped).toBe(true);
    expect(t.backend.memory().buffers).toBe(base);
    // the throwing policy on the same (poisoned) model: the failed steps leave nothing behind either
    const thrower = new Trainer(m, { schedule });
    await expect(thrower.trainStep(next)).rejects.toBeInstanceOf(NonFiniteError);
    const base2 = t.backend.memory().buffers;
    for (let s = 0; s < 5; s++) await expect(thrower.trainStep(next)).rejects.toThrow(/step 0: the loss/);
    expect(t.backend.memory().buffers).toBe(base2);
  });
});
