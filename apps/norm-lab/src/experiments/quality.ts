import { lineChartSvg } from '@tinyformer/charlm';
import { type ExtraNorm, type LabContext, normLabel } from '../context.js';
import { charts, table, verdictList } from '../html.js';
import type { ExperimentResult, QualityData, Status, Verdict } from '../schema.js';
import type { QualitySize } from '../sizes.js';
import { ema, finiteOrNull, fmt, mean } from '../stats.js';
import { trainRun } from '../train-run.js';

const CLAIM = 'RMSNorm and LayerNorm (pre-norm) reach equal quality';
const NORMS = ['rmsnorm', 'layernorm'] as const;
/** "equal" means the final validation losses differ by at most this fraction, or by no more than seeds do */
const EQUAL_REL = 0.01;
const CLOSE_REL = 0.03;

/** The claim tested for a plugin kind: it is no worse than RMSNorm (being better also lets it replace RMSNorm). */
export function extraClaim(x: ExtraNorm): string {
  return (
    `${x.kind}${x.description ? ` (${x.description})` : ''} can replace RMSNorm: final val loss at most ` +
    `${EQUAL_REL * 100}% above RMSNorm's`
  );
}

type Run = QualityData['runs'][number];
const meanOrNull = (xs: (number | null)[]) =>
  xs.length === 0 || xs.some((x) => x === null) ? null : mean(xs as number[]);
/** largest spread between seeds of one norm, over the given norms (0 with one seed) */
function seedSpread(runs: Run[], norms: readonly string[]): number {
  return Math.max(
    0,
    ...norms.map((n) => {
      const xs = runs.filter((r) => r.norm === n).flatMap((r) => (r.run.finalVal === null ? [] : [r.run.finalVal]));
      return xs.length > 1 ? Math.max(...xs) - Math.min(...xs) : 0;
    }),
  );
}

export async function runQuality(ctx: LabContext, size: QualitySize): Promise<ExperimentResult<'quality'>> {
  const t0 = performance.now();
  const schedule = { lr: size.lr, warmup: size.warmup, decaySteps: size.steps, minLr: size.minLr };
  const runs: QualityData['runs'] = [];
  const seeds = size.seeds.map((s) => ctx.seed + s);
  const extras = ctx.extraNorms ?? [];
  // same recipe, seed, init seed and batches for a plugin kind as for the built-ins
  const norms = [...NORMS, ...extras.map((x) => x.kind)];
  for (const seed of seeds) {
    for (const norm of norms) {
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
  const finals = (norm: string) => runs.filter((r) => r.norm === norm).map((r) => r.run.finalVal);
  const rms = meanOrNull(finals('rmsnorm'));
  const ln = meanOrNull(finals('layernorm'));
  const spread = seedSpread(runs, NORMS);
  const difference = rms !== null && ln !== null ? ln - rms : null;
  const relative = difference !== null ? difference / ((rms! + ln!) / 2) : null;
  const summary = {
    rmsnormFinalVal: rms,
    layernormFinalVal: ln,
    difference: finiteOrNull(difference ?? Number.NaN),
    relativeDifference: finiteOrNull(relative ?? Number.NaN),
    seedSpread: spread,
    extra: extras.map((x) => {
      const val = meanOrNull(finals(x.kind));
      const diff = val !== null && rms !== null ? val - rms : null;
      return {
        norm: x.kind,
        finalVal: val,
        difference: finiteOrNull(diff ?? Number.NaN),
        relativeToRmsnorm: finiteOrNull(diff !== null ? diff / rms! : Number.NaN),
        seedSpread: seedSpread(runs, ['rmsnorm', x.kind]),
      };
    }),
  };
  let status: Status;
  let evidence: string;
  const diverged = runs.filter((r) => r.run.diverged && (NORMS as readonly string[]).includes(r.norm));
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
  const extraVerdicts = extras.map((x) => extraVerdict(x, runs, summary, seeds.length, size.finalEvalBatches));
  return {
    title: `Quality: ${norms.map(normLabel).join(' vs ')}`,
    claim: [CLAIM, ...extras.map(extraClaim)].join('; '),
    verdicts: [{ claim: CLAIM, status, evidence }, ...extraVerdicts],
    seconds: (performance.now() - t0) / 1000,
    data: { model: size.model, batchSize: size.batchSize, schedule, seeds, runs, summary },
  };
}

/** Mirrors the RMSNorm/LayerNorm rule, one-sided: within 1% (or the seed spread) agrees, 3% partly, else disagrees. */
function extraVerdict(
  x: ExtraNorm,
  runs: Run[],
  summary: QualityData['summary'],
  nSeeds: number,
  evalBatches: number,
): Verdict {
  const claim = extraClaim(x);
  const s = summary.extra.find((e) => e.norm === x.kind)!;
  const diverged = runs.filter((r) => r.run.diverged && (r.norm === 'rmsnorm' || r.norm === x.kind));
  if (s.difference === null || s.relativeToRmsnorm === null || diverged.length > 0) {
    return {
      claim,
      status: 'inconclusive',
      evidence: `a run has no final validation loss or diverged (${diverged.map((r) => r.run.label).join(', ') || 'none diverged'})`,
    };
  }
  const worse = s.relativeToRmsnorm;
  const within = worse <= EQUAL_REL || (nSeeds > 1 && s.difference <= s.seedSpread);
  const status: Status = within ? 'agrees' : worse <= CLOSE_REL ? 'partly' : 'disagrees';
  const perSeed = runs
    .filter((r) => r.norm === x.kind)
    .map((r) => `seed ${r.seed} ${fmt(r.run.finalVal, 4)}`)
    .join(', ');
  return {
    claim,
    status,
    evidence:
      `final validation loss (nats/char, ${evalBatches} batches, mean over ${nSeeds} seed${nSeeds > 1 ? 's' : ''}): ` +
      `${x.kind} ${fmt(s.finalVal, 4)} (${perSeed}), RMSNorm ${fmt(summary.rmsnormFinalVal, 4)}; ${x.kind} ` +
      `${s.difference > 0 ? 'higher' : 'lower'} by ${fmt(Math.abs(s.difference), 4)} (${(Math.abs(worse) * 100).toFixed(2)}%)` +
      (nSeeds > 1 ? `; seed-to-seed spread ${fmt(s.seedSpread, 4)}` : '') +
      `. Agrees when at most ${EQUAL_REL * 100}% above RMSNorm${nSeeds > 1 ? ' or within the seed spread' : ''}; ` +
      `partly within ${CLOSE_REL * 100}%`,
  };
}

export function renderQuality(r: ExperimentResult<'quality'>): string {
  const d = r.data;
  const label = (x: Run) => `${normLabel(x.norm)} (seed ${x.seed})`;
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
    `at step ${d.schedule.decaySteps}); same seed, init and batches for every norm.</p>`;
  return `${verdictList(r.verdicts)}\n${charts(svgs)}\n${note}\n${table(
    ['run', 'initial loss', 'final train loss (last 10%)', 'final val loss', 'diverged', 'tokens/s', 'seconds'],
    rows,
  )}`;
}
