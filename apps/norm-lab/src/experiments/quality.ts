import { lineChartSvg } from '@tinyformer/charlm';
import type { LabContext } from '../context.js';
import { charts, table, verdictList } from '../html.js';
import type { ExperimentResult, QualityData, Status } from '../schema.js';
import type { QualitySize } from '../sizes.js';
import { ema, finiteOrNull, fmt, mean } from '../stats.js';
import { trainRun } from '../train-run.js';

const CLAIM = 'RMSNorm and LayerNorm (pre-norm) reach equal quality';
const NORMS = ['rmsnorm', 'layernorm'] as const;
/** "equal" means the final validation losses differ by at most this fraction, or by no more than seeds do */
const EQUAL_REL = 0.01;
const CLOSE_REL = 0.03;

export async function runQuality(ctx: LabContext, size: QualitySize): Promise<ExperimentResult<'quality'>> {
  const t0 = performance.now();
  const schedule = { lr: size.lr, warmup: size.warmup, decaySteps: size.steps, minLr: size.minLr };
  const runs: QualityData['runs'] = [];
  const seeds = size.seeds.map((s) => ctx.seed + s);
  for (const seed of seeds) {
    for (const norm of NORMS) {
      ctx.log(`  ${norm}, seed ${seed}: ${size.steps} steps`);
      const run = await trainRun(ctx, {
        label: `${norm} seed ${seed}`,
        model: { ...size.model, norm: { kind: norm, placement: 'pre' } },
        batchSize: size.batchSize,
        steps: size.steps,
        schedule,
        seed,
        evalEvery: size.evalEvery,
        evalBatches: size.evalBatches,
        finalEvalBatches: size.finalEvalBatches,
      });
      ctx.log(
        `    final val loss ${fmt(run.finalVal, 4)} (${run.seconds.toFixed(1)} s, ${run.tokensPerSec.toFixed(0)} tokens/s)`,
      );
      runs.push({ norm, seed, run });
    }
  }
  const finals = (norm: (typeof NORMS)[number]) => runs.filter((r) => r.norm === norm).map((r) => r.run.finalVal);
  const meanOrNull = (xs: (number | null)[]) => (xs.some((x) => x === null) ? null : mean(xs as number[]));
  const rms = meanOrNull(finals('rmsnorm'));
  const ln = meanOrNull(finals('layernorm'));
  const spread = Math.max(
    ...NORMS.map((n) => {
      const xs = finals(n).filter((x): x is number => x !== null);
      return xs.length > 1 ? Math.max(...xs) - Math.min(...xs) : 0;
    }),
  );
  const difference = rms !== null && ln !== null ? ln - rms : null;
  const relative = difference !== null ? difference / ((rms! + ln!) / 2) : null;
  const summary = {
    rmsnormFinalVal: rms,
    layernormFinalVal: ln,
    difference: finiteOrNull(difference ?? Number.NaN),
    relativeDifference: finiteOrNull(relative ?? Number.NaN),
    seedSpread: spread,
  };
  let status: Status;
  let evidence: string;
  const diverged = runs.filter((r) => r.run.diverged);
  if (difference === null || relative === null || diverged.length > 0) {
    status = 'inconclusive';
    evidence = `a run has no final validation loss or diverged (${diverged.map((r) => r.run.label).join(', ') || 'none diverged'})`;
  } else {
    const better = difference > 0 ? 'RMSNorm' : 'LayerNorm';
    const within = Math.abs(relative) <= EQUAL_REL || (seeds.length > 1 && Math.abs(difference) <= spread);
    status = within ? 'agrees' : Math.abs(relative) <= CLOSE_REL ? 'partly' : 'disagrees';
    evidence =
      `final validation loss (nats/char, ${size.finalEvalBatches} batches, mean over ${seeds.length} seed${seeds.length > 1 ? 's' : ''}): ` +
      `RMSNorm ${fmt(rms, 4)}, LayerNorm ${fmt(ln, 4)}; ${better} lower by ${fmt(Math.abs(difference), 4)} ` +
      `(${(Math.abs(relative) * 100).toFixed(2)}%)` +
      (seeds.length > 1 ? `; seed-to-seed spread ${fmt(spread, 4)}` : '') +
      `. Equal means within ${EQUAL_REL * 100}%${seeds.length > 1 ? ' or within the seed spread' : ''}; close: within ${CLOSE_REL * 100}%`;
  }
  return {
    title: 'Quality: RMSNorm vs LayerNorm',
    claim: CLAIM,
    verdicts: [{ claim: CLAIM, status, evidence }],
    seconds: (performance.now() - t0) / 1000,
    data: { model: size.model, batchSize: size.batchSize, schedule, seeds, runs, summary },
  };
}

export function renderQuality(r: ExperimentResult<'quality'>): string {
  const d = r.data;
  const label = (x: QualityData['runs'][number]) =>
    `${x.norm === 'rmsnorm' ? 'RMSNorm' : 'LayerNorm'} (seed ${x.seed})`;
  const svgs = [
    lineChartSvg({
      title: 'training loss (EMA 0.05 of per-step loss)',
      xLabel: 'step',
      yLabel: 'loss (nats/char)',
      series: d.runs.map((x) => ({
        name: label(x),
        points: ema(x.run.losses, 0.05).flatMap((v, i) => (v === null ? [] : [[i + 1, v] as const])),
      })),
      width: 560,
      height: 340,
    }),
    lineChartSvg({
      title: 'validation loss (fixed windows)',
      xLabel: 'step',
      yLabel: 'loss (nats/char)',
      series: d.runs.map((x) => ({
        name: label(x),
        points: x.run.val.flatMap((v) => (v.loss === null ? [] : [[v.step, v.loss] as const])),
      })),
      width: 560,
      height: 340,
    }),
  ];
  const m = d.model;
  const rows = d.runs.map((x) => [
    label(x),
    fmt(x.run.initialLoss, 4),
    fmt(x.run.tailLoss, 4),
    fmt(x.run.finalVal, 4),
    x.run.diverged ? `yes: ${x.run.divergedReason}` : 'no',
    fmt(x.run.tokensPerSec, 0),
    fmt(x.run.seconds, 1),
  ]);
  const note =
    `<p class="note">Model: ${m.nLayers} layers x ${m.dModel}, ${m.nHeads} heads, context ${m.contextLength}, pre-norm, ` +
    `SwiGLU, RoPE; batch ${d.batchSize}; lr ${d.schedule.lr} (warmup ${d.schedule.warmup}, cosine to ${d.schedule.minLr} ` +
    `at step ${d.schedule.decaySteps}); same seed, init and batches for both norms.</p>`;
  return `${verdictList(r.verdicts)}\n${charts(svgs)}\n${note}\n${table(
    ['run', 'initial loss', 'final train loss (last 10%)', 'final val loss', 'diverged', 'tokens/s', 'seconds'],
    rows,
  )}`;
}
