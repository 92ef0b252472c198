import { type LoopStep, lineChartSvg, trainInterleaved } from '@tinyformer/charlm';
import { BatchSampler } from '@tinyformer/data';
import { DecoderLM, Trainer } from '@tinyformer/model';
import { benchNorms } from '@tinyformer/norm/bench';
import { type Backend, Rng } from '@tinyformer/tensor';
import { type LabContext, withBackend } from '../context.js';
import { charts, table, verdictList } from '../html.js';
import type { ExperimentResult, SpeedData, Status, Verdict } from '../schema.js';
import type { SpeedSize } from '../sizes.js';
import { fmt, median } from '../stats.js';
import { RECIPE } from '../train-run.js';

const CLAIM = 'RMSNorm is 10-20% faster than LayerNorm';

/** 10-20% faster is the claim; faster by more or by less is the right direction with the wrong size. */
function classify(speedup: number): Status {
  if (speedup >= 1.1 && speedup <= 1.2) return 'agrees';
  return speedup > 1 ? 'partly' : 'disagrees';
}

function combine(statuses: readonly Status[]): Status {
  if (statuses.length === 0) return 'inconclusive';
  if (statuses.every((s) => s === statuses[0])) return statuses[0]!;
  return 'partly';
}

function pct(speedup: number): string {
  const p = (speedup - 1) * 100;
  return `${p >= 0 ? '+' : ''}${p.toFixed(1)}%`;
}

/** Whole training steps of the same model with each norm, interleaved so machine load drifts hit both alike. */
async function stepBench(ctx: LabContext, backend: Backend, size: SpeedSize): Promise<SpeedData['steps'][number]> {
  return withBackend(backend, async () => {
    const B = size.stepBatch;
    const T = size.stepModel.contextLength;
    const vocabSize = ctx.dataset.vocab.size;
    // the warm-up steps are not recorded
    let timing = false;
    const make = (kind: 'rmsnorm' | 'layernorm') => {
      const model = new DecoderLM(
        { ...size.stepModel, vocabSize, norm: { kind, placement: 'pre' } },
        { seed: ctx.seed },
      );
      const trainer = new Trainer(model, { schedule: { lr: 1e-3, warmup: 0, decaySteps: 1, minLr: 1e-3 }, ...RECIPE });
      const sampler = new BatchSampler(ctx.dataset.train, B, T, new Rng(ctx.seed + 1));
      const ms: number[] = [];
      const loop = {
        trainer,
        sampler,
        afterStep: (s: LoopStep) => {
          if (timing) ms.push(s.ms);
          return false;
        },
      };
      const dispose = () => {
        trainer.optimizer.dispose();
        for (const p of model.parameters()) p.dispose();
      };
      return { loop, ms, dispose };
    };
    const rms = make('rmsnorm');
    const ln = make('layernorm');
    try {
      await trainInterleaved([rms.loop, ln.loop], size.stepWarmup);
      timing = true;
      // the order alternates: RMSNorm first on even rounds, LayerNorm first on odd ones
      await trainInterleaved([rms.loop, ln.loop], size.stepRuns, { rotate: true });
      const rmsMs = rms.ms;
      const lnMs = ln.ms;
      const tokens = B * T;
      const summary = (ms: number[]) => ({
        stepMs: ms,
        medianMs: median(ms),
        tokensPerSec: (tokens / median(ms)) * 1000,
      });
      const r = summary(rmsMs);
      const l = summary(lnMs);
      return {
        backend: backend.name,
        model: size.stepModel,
        batchSize: B,
        tokensPerStep: tokens,
        rmsnorm: r,
        layernorm: l,
        speedup: r.tokensPerSec / l.tokensPerSec,
      };
    } finally {
      rms.dispose();
      ln.dispose();
    }
  });
}

export async function runSpeed(ctx: LabContext, size: SpeedSize): Promise<ExperimentResult<'speed'>> {
  const t0 = performance.now();
  const data: SpeedData = { kernels: [], steps: [] };
  for (const { backend, label } of ctx.speedBackends) {
    ctx.log(`  ${label}: fused RMSNorm vs LayerNorm forward+backward, ${size.fusedRuns} interleaved runs per shape`);
    data.kernels.push(
      ...(await benchNorms({ backend, shapes: size.shapes, runs: size.fusedRuns, variants: ['fused'] })),
    );
    if (size.compositeRuns > 0) {
      ctx.log(`  ${label}: composite (primitive-op) versions, ${size.compositeRuns} runs per shape`);
      const rows = await benchNorms({
        backend,
        shapes: size.shapes,
        runs: size.compositeRuns,
        variants: ['composite'],
      });
      data.kernels.push(...rows);
    }
    ctx.log(`  ${label}: whole training steps, ${size.stepRuns} per norm, interleaved`);
    data.steps.push(await stepBench(ctx, backend, size));
  }
  const verdicts: Verdict[] = [];
  for (const { backend } of ctx.speedBackends) {
    const fused = data.kernels.filter((k) => k.backend === backend.name && k.variant === 'fused');
    verdicts.push({
      claim: `${CLAIM}: the fused norm forward+backward on ${backend.name}`,
      status: combine(fused.map((k) => classify(k.speedup))),
      evidence: fused
        .map(
          (k) => `${k.rows}x${k.dim}: RMSNorm ${fmt(k.rmsMs)} ms vs LayerNorm ${fmt(k.layerMs)} ms (${pct(k.speedup)})`,
        )
        .join('; '),
    });
    for (const s of data.steps.filter((x) => x.backend === backend.name)) {
      const m = s.model;
      verdicts.push({
        claim: `${CLAIM}: a whole training step on ${backend.name}`,
        status: classify(s.speedup),
        evidence:
          `${m.nLayers} layers x ${m.dModel}, ${s.tokensPerStep} tokens/step: RMSNorm ${fmt(s.rmsnorm.tokensPerSec, 0)} ` +
          `tokens/s (median step ${fmt(s.rmsnorm.medianMs, 1)} ms) vs LayerNorm ${fmt(s.layernorm.tokensPerSec, 0)} tokens/s ` +
          `(${fmt(s.layernorm.medianMs, 1)} ms): RMSNorm ${pct(s.speedup)}`,
      });
    }
  }
  return {
    title: 'Speed: RMSNorm vs LayerNorm',
    claim: CLAIM,
    verdicts,
    seconds: (performance.now() - t0) / 1000,
    data,
  };
}

export function renderSpeed(r: ExperimentResult<'speed'>): string {
  const d = r.data;
  const kernelSeries = [];
  for (const backend of [...new Set(d.kernels.map((k) => k.backend))]) {
    for (const variant of ['fused', 'composite'] as const) {
      const rows = d.kernels.filter((k) => k.backend === backend && k.variant === variant);
      if (rows.length === 0) continue;
      const x = (k: (typeof rows)[number]) => (k.rows * k.dim) / 1e6;
      kernelSeries.push({ name: `RMSNorm ${variant} (${backend})`, points: rows.map((k) => [x(k), k.rmsMs] as const) });
      kernelSeries.push({
        name: `LayerNorm ${variant} (${backend})`,
        points: rows.map((k) => [x(k), k.layerMs] as const),
      });
    }
  }
  const svgs = [
    lineChartSvg({
      title: 'norm forward+backward time (median)',
      xLabel: 'million elements (tokens x width)',
      yLabel: 'ms (log scale)',
      series: kernelSeries,
      logY: true,
      width: 560,
      height: 340,
    }),
    ...d.steps.map((s) =>
      lineChartSvg({
        title: `training step time per step (${s.backend}), interleaved`,
        xLabel: 'timed step',
        yLabel: 'ms',
        series: [
          { name: 'RMSNorm', points: s.rmsnorm.stepMs.map((v, i) => [i + 1, v] as const) },
          { name: 'LayerNorm', points: s.layernorm.stepMs.map((v, i) => [i + 1, v] as const) },
        ],
        width: 560,
        height: 340,
      }),
    ),
  ];
  const kernelTable = table(
    ['backend', 'tokens x width', 'variant', 'RMSNorm ms', 'LayerNorm ms', 'LN / RMS', 'RMSNorm faster by'],
    d.kernels.map((k) => [
      k.backend,
      `${k.rows} x ${k.dim}`,
      k.variant,
      fmt(k.rmsMs),
      fmt(k.layerMs),
      `${fmt(k.speedup, 2)}x`,
      pct(k.speedup),
    ]),
    'Norm forward+backward (gradients for input, scale and shift), median of interleaved runs',
  );
  const stepTable = table(
    [
      'backend',
      'model',
      'tokens/step',
      'RMSNorm tokens/s',
      'LayerNorm tokens/s',
      'RMSNorm median ms',
      'LayerNorm median ms',
      'RMSNorm faster by',
    ],
    d.steps.map((s) => [
      s.backend,
      `${s.model.nLayers}L x ${s.model.dModel}, ctx ${s.model.contextLength}, batch ${s.batchSize}`,
      String(s.tokensPerStep),
      fmt(s.rmsnorm.tokensPerSec, 0),
      fmt(s.layernorm.tokensPerSec, 0),
      fmt(s.rmsnorm.medianMs, 1),
      fmt(s.layernorm.medianMs, 1),
      pct(s.speedup),
    ]),
    'Whole training step (forward, backward, AdamW update), median over interleaved steps',
  );
  return `${verdictList(r.verdicts)}\n${charts(svgs)}\n${kernelTable}\n${stepTable}`;
}
