// Baby GPT training steps (charlm's baby preset: 4 layers, 4 heads, width 128, context 64, batch 12, the default
// RMSNorm/SwiGLU/RoPE recipe) on the CPU backend with 1 or 2 GEMM threads; tokens are uniform random ids of a
// 65-symbol vocabulary. The same module runs in Node (bench/run.mjs imports it) and, bundled, in a browser Worker.
import { DecoderLM, Trainer } from '@tinyformer/model';
import { CpuBackend, Rng, setBackend } from '@tinyformer/tensor';

const VOCAB = 65;
const CONTEXT = 64;
const BATCH = 12;

/**
 * @param {{ threads: 1 | 2, steps: number, warmup: number }} o
 * @returns {Promise<{ tokPerSec: number, msPerStep: number, threads: string, losses: number[] }>}
 */
export async function trainSteps(o) {
  const cpu = new CpuBackend({ threads: o.threads });
  await cpu.whenThreadsReady();
  setBackend(cpu);
  const model = new DecoderLM(
    { vocabSize: VOCAB, contextLength: CONTEXT, dModel: 128, nLayers: 4, nHeads: 4 },
    { seed: 1 },
  );
  const trainer = new Trainer(model, { schedule: { lr: 1e-3, warmup: 100, decaySteps: 2000, minLr: 1e-4 } });
  const rng = new Rng(7);
  const batch = () => {
    const x = new Int32Array(BATCH * CONTEXT);
    const y = new Int32Array(BATCH * CONTEXT);
    for (let i = 0; i < x.length; i++) {
      x[i] = Math.floor(rng.uniform() * VOCAB);
      y[i] = Math.floor(rng.uniform() * VOCAB);
    }
    return { x, y, batchSize: BATCH, contextLength: CONTEXT };
  };
  const losses = [];
  for (let s = 0; s < o.warmup; s++) losses.push((await trainer.trainStep(batch)).loss);
  const t0 = performance.now();
  for (let s = 0; s < o.steps; s++) losses.push((await trainer.trainStep(batch)).loss);
  const ms = (performance.now() - t0) / o.steps;
  return { tokPerSec: (BATCH * CONTEXT * 1000) / ms, msPerStep: ms, threads: cpu.describeThreads(), losses };
}

// in a browser Worker: run on the first message, post the result
const scope = globalThis;
if (typeof scope.WorkerGlobalScope === 'function' && scope instanceof scope.WorkerGlobalScope) {
  scope.onmessage = (ev) => {
    trainSteps(ev.data).then(
      (r) => scope.postMessage(r),
      (e) => scope.postMessage({ error: String(e?.stack ?? e) }),
    );
  };
}
