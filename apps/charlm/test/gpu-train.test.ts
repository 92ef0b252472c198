import { existsSync } from 'node:fs';
import { createGpuBackend, type GpuBackend } from '@tinyformer/backend-gpu';
import { BatchSampler, CharDataset, CharVocab } from '@tinyformer/data';
import { DecoderLM, Trainer } from '@tinyformer/model';
import { type Backend, CpuBackend, Rng, setBackend } from '@tinyformer/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The WebGPU path end to end: the same 50 training steps on the gpu.js backend (lavapipe in CI) and on the CPU
// backend give the same losses. Under CI=true a missing adapter fails; elsewhere the suite skips, saying why.
const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(LAVAPIPE_ICD)) process.env.VK_ICD_FILENAMES = LAVAPIPE_ICD;

let gpu: GpuBackend | null = null;
let why = '';

beforeAll(async () => {
  try {
    gpu = await createGpuBackend({ allowSoftware: true });
  } catch (e) {
    why = (e as Error).message;
    if (process.env.CI !== 'true') console.warn(`\n[charlm] SKIPPING GPU training test: no WebGPU adapter (${why})\n`);
  }
}, 120_000);

afterAll(async () => {
  await gpu?.destroy();
});

const TEXT = 'It was the best of times, it was the worst of times, it was the age of wisdom. '.repeat(30);

async function run(backend: Backend, steps: number) {
  setBackend(backend);
  const vocab = CharVocab.fromText(TEXT);
  const data = new CharDataset(TEXT, vocab);
  const model = new DecoderLM(
    { vocabSize: vocab.size, contextLength: 16, dModel: 32, nLayers: 2, nHeads: 2, norm: { kind: 'layernorm' } },
    { seed: 5 },
  );
  const trainer = new Trainer(model, { schedule: { lr: 3e-3, warmup: 5, decaySteps: steps, minLr: 3e-4 } });
  const sampler = new BatchSampler(data.train, 4, 16, new Rng(9));
  const losses: number[] = [];
  const buffers: number[] = [];
  for (let i = 0; i < steps; i++) {
    const r = await trainer.trainStep(() => ({ ...sampler.next(), batchSize: 4, contextLength: 16 }));
    losses.push(r.loss);
    buffers.push(backend.memory().buffers);
  }
  trainer.optimizer.dispose();
  for (const p of model.parameters()) p.dispose();
  return { losses, buffers };
}

describe('training on the WebGPU backend', () => {
  it('has an adapter when CI expects one', () => {
    if (process.env.CI === 'true') expect(gpu, `no WebGPU adapter under CI=true: ${why}`).not.toBeNull();
  });

  it('50 steps track the CPU backend and device memory stays flat', async (ctx) => {
    if (!gpu) {
      ctx.skip();
      return;
    }
    const cpu = await run(new CpuBackend(), 50);
    const dev = await run(gpu, 50);
    const maxDiff = Math.max(...dev.losses.map((l, i) => Math.abs(l - cpu.losses[i]!)));
    console.log(`gpu vs cpu: max loss difference over 50 steps ${maxDiff.toExponential(2)}`);
    // float32 on both sides, different summation orders
    for (let i = 0; i < 50; i++) expect(Math.abs(dev.losses[i]! - cpu.losses[i]!)).toBeLessThan(2e-3);
    expect(dev.losses[49]!).toBeLessThan(dev.losses[0]! - 0.5);
    // live device buffers after each step: constant once the first step has allocated everything
    expect(new Set(dev.buffers.slice(2)).size).toBe(1);
  }, 300_000);
});
