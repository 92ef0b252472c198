#!/usr/bin/env node
// Training-throughput benchmark of the CPU backend: nanoGPT's "baby GPT" (4 layers, 4 heads, 128 wide, context 64,
// batch 12 = 768 tokens per step), or `--preset small` (6 layers, 6 heads, 384 wide, context 256, batch 8 = 2,048
// tokens per step, the peer's small config), full training steps (batch upload, forward, backward, clip, AdamW).
// Prints tokens/s, ms/step, the GEMM's share of the step, threads, the GEMM's SIMD mode and peak RSS.
//
//   node dist/bench.js [--preset baby|small] [--recipe default|nanogpt] [--steps 30] [--warmup 8] [--profile 10]
//                      [--corpus random|brown] [--compare default,threads2,...] [--json FILE]
//
// --compare builds one model per variant (same seed, same batches) and runs their steps interleaved round-robin,
// so every variant sees the same machine load; ratios are against the first variant. It is a script, never a test.
import { appendFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { BatchSampler, CharDataset, CharVocab } from '@tinyformer/data';
import { loadBrownText } from '@tinyformer/data/node';
import { DecoderLM, resolveModelConfig, Trainer } from '@tinyformer/model';
import type { LoopStep } from '@tinyformer/recipe';
import { PRESETS, trainerOptions } from '@tinyformer/recipe';
import {
  type Backend,
  CpuBackend,
  type CpuBackendOptions,
  type GemmProvider,
  Rng,
  setBackend,
} from '@tinyformer/tensor';
import { formatOpProfile, startOpProfile } from './op-profile.js';
import { trainInterleaved } from './train-interleaved.js';

/** Variants of the CPU backend the bench can compare; each returns fresh options (gemm providers are per variant). */
const VARIANTS: Record<string, { describe: string; options: () => CpuBackendOptions }> = {
  default: { describe: 'new CpuBackend() (the defaults)', options: () => ({}) },
  threads1: { describe: 'the arena GEMM on 1 thread', options: () => ({ threads: 1 }) },
  'plain-simd': {
    describe: 'the GEMM micro-kernel on plain SIMD (multiply, then add) instead of relaxed SIMD (fused multiply-add)',
    options: () => ({ gemmSimd: 'plain' }),
  },
  'plain-simd1': { describe: 'plain SIMD, 1 GEMM thread', options: () => ({ gemmSimd: 'plain', threads: 1 }) },
  threads2: {
    describe: 'the arena GEMM on 2 threads (main + 1 worker, per-shape adaptive; the default on 2+ cores)',
    options: () => ({ threads: 2 }),
  },
  'no-arena': {
    describe: 'ordinary Float32Arrays: copy-in wasm GEMM, TS kernels, copy-in SIMD activations',
    options: () => ({ arena: false }),
  },
  'ts-elementwise': {
    describe: 'no wasm elementwise at all: TS kernels (Math.exp per element), copy-in wasm GEMM',
    options: () => ({ simdElementwise: false }),
  },
  'no-attn-kernels': {
    describe: 'attention head split/merge and RoPE through the composite path',
    options: () => ({ disableKernels: ['splitHeads', 'mergeHeads', 'rope'] }),
  },
  'no-act-fusion': {
    describe: "SwiGLU gate and activation backward (dy * f'(x)) as separate primitive passes",
    options: () => ({ disableKernels: ['unaryMul', 'swiglu', 'swigluBackward'] }),
  },
  composite: { describe: 'no op kernels at all (composites of primitives)', options: () => ({ kernels: false }) },
};

/** The model sizes: charlm's presets (small with batch 8, as the PyTorch peer's small config runs it). */
const MODELS = {
  baby: { preset: PRESETS.baby, batchSize: PRESETS.baby.batchSize },
  small: { preset: PRESETS.small, batchSize: 8 },
} as const;

const RECIPES = {
  /** ours: RMSNorm, SwiGLU, RoPE */
  default: {},
  /** nanoGPT's: LayerNorm, GELU MLP, learned positions */
  nanogpt: { norm: { kind: 'layernorm' }, ffn: { kind: 'gelu' }, positional: 'learned' },
} as const;

interface Run {
  name: string;
  backend: Backend;
  gemm: GemmProvider | undefined;
  trainer: Trainer;
  sampler: BatchSampler;
  times: number[];
  /** process CPU time per step (all threads): less sensitive than wall time to other processes on a busy machine */
  cpu: number[];
  buffers: number[];
  /** GEMM wall time per timed step (ms), from the provider's counters */
  gemmMs: number[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function corpus(kind: string, vocabSize: number, n: number): { data: Int32Array; vocab: number } {
  if (kind === 'brown') {
    const text = loadBrownText({ maxChars: n });
    const vocab = CharVocab.fromText(text);
    return { data: new CharDataset(text, vocab).train, vocab: vocab.size };
  }
  if (kind !== 'random') throw new Error(`--corpus must be random or brown, got ${kind}`);
  const rng = new Rng(7);
  const data = new Int32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.int(vocabSize);
  return { data, vocab: vocabSize };
}

async function main(): Promise<void> {
  // `pnpm bench -- --steps 10` passes the separator through
  const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
  const { values } = parseArgs({
    args,
    options: {
      preset: { type: 'string' },
      /** the old name of --preset */
      model: { type: 'string' },
      recipe: { type: 'string', default: 'default' },
      steps: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '8' },
      corpus: { type: 'string', default: 'random' },
      compare: { type: 'string', default: 'default' },
      json: { type: 'string' },
      profile: { type: 'string', default: '0' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      `usage: node dist/bench.js [--preset ${Object.keys(MODELS).join('|')}] [--recipe ${Object.keys(RECIPES).join('|')}] [--steps n] [--warmup n] ` +
        `[--corpus random|brown] [--compare ${Object.keys(VARIANTS).join(',')}] [--json FILE] [--profile steps]`,
    );
    for (const [k, v] of Object.entries(VARIANTS)) console.log(`  ${k.padEnd(16)} ${v.describe}`);
    return;
  }
  const recipe = RECIPES[values.recipe as keyof typeof RECIPES];
  if (!recipe) throw new Error(`--recipe must be one of ${Object.keys(RECIPES).join(', ')}`);
  const steps = Number(values.steps);
  const profileSteps = Number(values.profile);
  const warmup = Number(values.warmup);
  if (!(steps >= 1) || !(warmup >= 0) || !(profileSteps >= 0)) {
    throw new Error('--steps must be >= 1, --warmup and --profile >= 0');
  }
  const names = values.compare.split(',').filter((s) => s.length > 0);
  for (const n of names)
    if (!VARIANTS[n]) throw new Error(`unknown variant '${n}'; known: ${Object.keys(VARIANTS).join(', ')}`);

  const presetName = values.preset ?? values.model ?? 'baby';
  const size = MODELS[presetName as keyof typeof MODELS];
  if (!size) throw new Error(`--preset must be one of ${Object.keys(MODELS).join(', ')}`);
  const preset = { ...size.preset, batchSize: size.batchSize };
  const B = preset.batchSize;
  const T = preset.model.contextLength;
  const { data, vocab } = corpus(values.corpus, 65, 300_000);
  const config = resolveModelConfig({ ...preset.model, ...recipe, vocabSize: vocab });

  const runs: Run[] = names.map((name) => {
    const opts = VARIANTS[name]!.options();
    const backend = new CpuBackend(opts);
    setBackend(backend);
    const model = new DecoderLM(config, { seed: 1337 });
    const trainer = new Trainer(model, trainerOptions(preset));
    const sampler = new BatchSampler(data, B, T, new Rng(1338));
    return {
      name,
      backend,
      gemm: backend.gemmProvider,
      trainer,
      sampler,
      times: [],
      cpu: [],
      buffers: [],
      gemmMs: [],
    };
  });

  const tokens = B * T;
  const load0 = loadavg()[0]!;
  console.log(
    `charlm bench: ${presetName} GPT, recipe ${values.recipe} (${config.norm.kind}, ${config.ffn.kind}, ${config.positional}); ` +
      `${config.nLayers} layers x ${config.dModel}, ${config.nHeads} heads, context ${T}, batch ${B} = ${tokens} tokens/step, ` +
      `vocab ${vocab} (${values.corpus} corpus)`,
  );
  console.log(
    `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), load average ${load0.toFixed(2)}; ` +
      `${warmup} warm-up + ${steps} timed steps per variant, interleaved`,
  );

  let peakRss = 0;
  const timedRss: number[] = [];
  let timed = false;
  const loops = runs.map((r) => {
    let c0 = process.cpuUsage();
    let g0 = 0;
    const gemmMs = () => (r.gemm as { threadStats?: () => { ms: number } } | undefined)?.threadStats?.().ms ?? 0;
    return {
      trainer: r.trainer,
      sampler: r.sampler,
      beforeStep: () => {
        setBackend(r.backend);
        c0 = process.cpuUsage();
        g0 = gemmMs();
      },
      afterStep: ({ result, ms }: LoopStep) => {
        const c = process.cpuUsage(c0);
        if (!Number.isFinite(result.loss)) throw new Error(`${r.name}: loss is ${result.loss}`);
        if (timed) {
          r.times.push(ms);
          r.cpu.push((c.user + c.system) / 1000);
          r.buffers.push(r.backend.memory().buffers);
          r.gemmMs.push(gemmMs() - g0);
        }
        const rss = process.memoryUsage.rss();
        peakRss = Math.max(peakRss, rss);
        if (timed) timedRss.push(rss);
        return false;
      },
    };
  });
  await trainInterleaved(loops, warmup);
  timed = true;
  // rotate the order so no variant always runs right after another
  await trainInterleaved(loops, steps, { rotate: true });

  const base = median(runs[0]!.times);
  const rows = runs.map((r) => {
    const med = median(r.times);
    const sorted = [...r.times].sort((a, b) => a - b);
    const gemm = r.gemm as
      | (GemmProvider & { threads?: number; threadStats?: () => { split: number; workerRan: number; single: number } })
      | undefined;
    const ts = gemm?.threads === 2 ? gemm.threadStats?.() : undefined;
    const simd = (r.backend as CpuBackend).gemmSimd ?? 'off';
    const stepSum = r.times.reduce((a, b) => a + b, 0);
    const grew = r.buffers[r.buffers.length - 1]! - r.buffers[0]!;
    return {
      variant: r.name,
      backend: r.backend.name,
      gemm: gemm?.name ?? 'none',
      /** the GEMM's SIMD mode: relaxed (fused multiply-add), plain, or off (no wasm GEMM) */
      simd,
      /** share of the timed steps' wall time spent inside the GEMM (0 when the provider keeps no counters) */
      gemmShare: r.gemmMs.reduce((a, b) => a + b, 0) / stepSum,
      simdElementwise: (r.backend as CpuBackend).elementwise?.name ?? 'ts',
      arena: (r.backend as CpuBackend).arena !== null,
      threads: gemm?.threads ?? 1,
      /** with 2 threads: products split (and run by the worker) vs kept on one thread by the adaptive choice */
      threadStats: ts ? `split ${ts.split} (worker ran ${ts.workerRan}), 1-thread ${ts.single}` : undefined,
      medianStepMs: med,
      medianCpuMs: median(r.cpu),
      p10StepMs: sorted[Math.floor(sorted.length * 0.1)]!,
      p90StepMs: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))]!,
      tokensPerS: tokens / (med / 1000),
      vsFirst: base / med,
      liveBuffers: r.buffers[r.buffers.length - 1]!,
      liveBufferGrowth: grew,
    };
  });
  for (const row of rows) {
    console.log(
      `${row.variant.padEnd(16)} ${row.tokensPerS.toFixed(0).padStart(6)} tok/s  median ${row.medianStepMs.toFixed(1)} ms/step ` +
        `(p10 ${row.p10StepMs.toFixed(1)}, p90 ${row.p90StepMs.toFixed(1)}; cpu ${row.medianCpuMs.toFixed(1)} ms)  x${row.vsFirst.toFixed(3)}\n` +
        `${''.padEnd(17)}backend ${row.backend}, ` +
        `gemm ${row.gemm} (SIMD ${row.simd}, ${row.threads} thread${row.threads > 1 ? 's' : ''}` +
        `${row.threadStats ? `: ${row.threadStats}` : ''}; ${(100 * row.gemmShare).toFixed(0)}% of the step), ` +
        `elementwise ${row.simdElementwise}${row.arena ? ', arena' : ''}, live buffers ${row.liveBuffers} (growth ${row.liveBufferGrowth} over ${steps} steps)`,
    );
  }
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  console.log(
    `peak RSS ${mib(peakRss)} MiB; RSS after the first and the last timed step ${mib(timedRss[0]!)} / ` +
      `${mib(timedRss[timedRss.length - 1]!)} MiB; load average now ${loadavg()[0]!.toFixed(2)} (was ${load0.toFixed(2)})`,
  );
  if (profileSteps > 0) {
    // after the timed steps, so the timing wrappers cost the figures above nothing
    const r = runs[0]!;
    const stepMs: number[] = [];
    setBackend(r.backend);
    const profile = startOpProfile(r.backend, { matmulByShape: true });
    await trainInterleaved(
      [
        {
          trainer: r.trainer,
          sampler: r.sampler,
          afterStep: ({ ms }: LoopStep) => {
            stepMs.push(ms);
            return false;
          },
        },
      ],
      profileSteps,
    );
    profile.stop();
    const total = stepMs.reduce((a, b) => a + b, 0);
    console.log(
      `profile of ${r.name}: ${profileSteps} more steps, ${(total / profileSteps).toFixed(1)} ms/step with the timing wrappers on`,
    );
    for (const line of formatOpProfile(profile, profileSteps, total)) console.log(line);
  }
  const bad = rows.filter((r) => r.liveBufferGrowth > 0);
  if (values.json) {
    appendFileSync(
      values.json,
      `${JSON.stringify({ preset: presetName, recipe: values.recipe, steps, warmup, peakRssMiB: peakRss / 2 ** 20, load: load0, rows })}\n`,
    );
  }
  if (bad.length > 0) {
    console.error(`live CPU buffers grew during timed steps: ${bad.map((r) => r.variant).join(', ')}`);
    process.exitCode = 1;
  }
  for (const r of runs) (r.gemm as { dispose?: () => void } | undefined)?.dispose?.();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
