import { lineChartSvg } from '@tinyformer/charlm';
import type { ExtraNorm, LabContext } from '../context.js';
import { charts, table, verdictList } from '../html.js';
import type { DepthData, ExperimentResult, Status, Verdict } from '../schema.js';
import type { DepthSize } from '../sizes.js';
import { ema, finiteOrNull, fmt, slope } from '../stats.js';
import { constantLr, type RunResult, trainRun } from '../train-run.js';

const CLAIM_UNSTABLE = 'Post-norm becomes unstable past ~12-24 layers without learning-rate warmup';
const CLAIM_PRE = 'Pre-norm trains at every depth';
const CLAIM_GRAD = 'Post-norm shrinks gradient magnitudes layer by layer (from the output down to the input)';
const PLACEMENTS = ['pre', 'post'] as const;
/** a post-norm run this much worse than pre-norm at the same depth "trains badly" even without diverging */
const DEGRADED = 1.1;

type DepthRun = DepthData['runs'][number];
/** the norm of the placement comparison (and of every claim about it) */
const BASE = 'layernorm';
const extraClaim = (kind: string) => `Pre-norm with ${kind} trains at every depth`;

function trend(run: RunResult, step: number): { logSlope: number | null; firstOverLast: number | null } {
  const rec = run.gradNorms.find((g) => g.step === step);
  const layers = rec?.layers ?? [];
  const good = layers.filter((l): l is { layer: number; norm: number } => l.norm !== null && l.norm > 0);
  if (good.length < 2 || good.length !== layers.length) return { logSlope: null, firstOverLast: null };
  return {
    logSlope: slope(
      good.map((l) => l.layer),
      good.map((l) => Math.log(l.norm)),
    ),
    firstOverLast: finiteOrNull(good[0]!.norm / good[good.length - 1]!.norm),
  };
}

function describeRun(x: DepthRun): string {
  return `L=${x.depth}: ${x.run.diverged ? 'diverged' : 'ok'} (loss ${fmt(x.run.initialLoss, 2)} -> ${fmt(x.run.tailLoss, 2)})`;
}

export async function runDepth(ctx: LabContext, size: DepthSize): Promise<ExperimentResult<'depth'>> {
  const t0 = performance.now();
  const runs: DepthData['runs'] = [];
  const extras = ctx.extraNorms ?? [];
  // LayerNorm in both placements; a plugin kind pre-norm only, the placement its claim (and the seed's) is about
  const grid: { norm: string; placement: 'pre' | 'post' }[][] = [
    PLACEMENTS.map((placement) => ({ norm: BASE, placement })),
    ...extras.map((x) => [{ norm: x.kind, placement: 'pre' as const }]),
  ];
  for (const group of grid) {
    for (const warmup of [false, true]) {
      for (const { norm, placement } of group) {
        for (const depth of size.depths) {
          await depthRun(ctx, size, runs, norm, placement, depth, warmup);
        }
      }
    }
  }
  const deepest = Math.max(...size.depths);
  const gradientTrend: DepthData['gradientTrend'] = [];
  for (const { norm, placement } of grid.flat()) {
    const at = (warmup: boolean) =>
      runs.find((r) => r.norm === norm && r.placement === placement && r.depth === deepest && r.warmup === warmup)!;
    const noWarm = at(false);
    gradientTrend.push({ norm, placement, depth: deepest, when: 'init', warmup: false, ...trend(noWarm.run, 0) });
    for (const r of [noWarm, at(true)]) {
      gradientTrend.push({
        norm,
        placement,
        depth: deepest,
        when: 'trained',
        warmup: r.warmup,
        ...trend(r.run, size.steps - 1),
      });
    }
  }
  const data: DepthData = {
    depths: size.depths,
    dModel: size.dModel,
    nHeads: size.nHeads,
    contextLength: size.contextLength,
    batchSize: size.batchSize,
    lr: size.lr,
    warmupSteps: size.warmup,
    steps: size.steps,
    runs,
    gradientTrend,
  };
  return {
    title: `Depth: pre-norm vs post-norm${extras.length > 0 ? `; pre-norm ${extras.map((x) => x.kind).join(', ')}` : ''}`,
    claim: [CLAIM_UNSTABLE, CLAIM_PRE, CLAIM_GRAD, ...extras.map((x) => extraClaim(x.kind))].join('; '),
    verdicts: [unstableVerdict(data), preVerdict(data), gradVerdict(data), ...extras.map((x) => extraVerdict(data, x))],
    seconds: (performance.now() - t0) / 1000,
    data,
  };
}

async function depthRun(
  ctx: LabContext,
  size: DepthSize,
  runs: DepthData['runs'],
  norm: string,
  placement: 'pre' | 'post',
  depth: number,
  warmup: boolean,
): Promise<void> {
  const label = `${norm === BASE ? '' : `${norm} `}${placement}-norm L=${depth} ${warmup ? `warmup ${size.warmup}` : 'no warmup'}`;
  const run = await trainRun(ctx, {
    label,
    // LayerNorm, as in the studies behind these claims (Xiong et al. 2020, "On Layer Normalization in the
    // Transformer Architecture")
    model: {
      contextLength: size.contextLength,
      dModel: size.dModel,
      nLayers: depth,
      nHeads: size.nHeads,
      norm: { kind: norm, placement },
    },
    batchSize: size.batchSize,
    steps: size.steps,
    schedule: constantLr(size.lr, warmup ? size.warmup : 0, size.steps),
    seed: ctx.seed,
    finalEvalBatches: size.finalEvalBatches,
    gradNormSteps: [0, size.steps - 1],
  });
  ctx.log(
    `  ${label}: loss ${fmt(run.initialLoss, 3)} -> ${fmt(run.tailLoss, 3)}, val ${fmt(run.finalVal, 3)}` +
      `${run.diverged ? `, DIVERGED (${run.divergedReason})` : ''} (${run.seconds.toFixed(1)} s)`,
  );
  runs.push({ norm, placement, depth, warmup, run });
}

/** The LayerNorm runs only: the placement claims are about them. */
function baseRuns(d: DepthData): DepthRun[] {
  return d.runs.filter((r) => r.norm === BASE);
}

function unstableVerdict(d: DepthData): Verdict {
  const all = baseRuns(d);
  const post = all.filter((r) => r.placement === 'post' && !r.warmup);
  const deep = post.filter((r) => r.depth >= 12);
  const shallow = post.filter((r) => r.depth < 12);
  if (deep.length === 0) {
    return { claim: CLAIM_UNSTABLE, status: 'inconclusive', evidence: 'no depth of 12 or more was run' };
  }
  const preVal = (depth: number, warmup: boolean) =>
    all.find((r) => r.placement === 'pre' && r.depth === depth && r.warmup === warmup)?.run.finalVal ?? null;
  const degraded = deep.filter((r) => {
    const pre = preVal(r.depth, false);
    return !r.run.diverged && r.run.finalVal !== null && pre !== null && r.run.finalVal > DEGRADED * pre;
  });
  const deepDiverged = deep.filter((r) => r.run.diverged);
  const shallowDiverged = shallow.filter((r) => r.run.diverged);
  let status: Status;
  if (deepDiverged.length > 0) status = shallowDiverged.length === 0 ? 'agrees' : 'partly';
  else status = degraded.length > 0 ? 'partly' : 'disagrees';
  const warm = all.filter((r) => r.placement === 'post' && r.warmup);
  const evidence =
    `post-norm, lr ${d.lr} constant, no warmup: ${post.map(describeRun).join('; ')}. ` +
    `With ${d.warmupSteps} warmup steps: ${warm.map(describeRun).join('; ')}. ` +
    `Final val loss post vs pre (no warmup): ${post
      .map((r) => `L=${r.depth} ${fmt(r.run.finalVal, 3)} vs ${fmt(preVal(r.depth, false), 3)}`)
      .join(', ')}` +
    (degraded.length > 0 && deepDiverged.length === 0
      ? `; no divergence, but post-norm ends more than ${Math.round((DEGRADED - 1) * 100)}% worse than pre-norm at ${degraded.map((r) => `L=${r.depth}`).join(', ')}`
      : '');
  return { claim: CLAIM_UNSTABLE, status, evidence };
}

function preVerdict(d: DepthData): Verdict {
  return trainsVerdict(CLAIM_PRE, 'pre-norm', baseRuns(d));
}

/** Mirrors the pre-norm claim for a plugin kind: agrees when none of its runs diverged, partly when only without warmup. */
function extraVerdict(d: DepthData, x: ExtraNorm): Verdict {
  const v = trainsVerdict(
    extraClaim(x.kind),
    `pre-norm ${x.kind}`,
    d.runs.filter((r) => r.norm === x.kind),
  );
  const ln = baseRuns(d).filter((r) => r.placement === 'pre' && !r.warmup);
  const vs = d.runs
    .filter((r) => r.norm === x.kind && !r.warmup)
    .map(
      (r) =>
        `L=${r.depth} ${fmt(r.run.finalVal, 3)} vs ${fmt(ln.find((q) => q.depth === r.depth)?.run.finalVal ?? null, 3)}`,
    );
  return {
    ...v,
    evidence: `${v.evidence}. Final val loss ${x.kind} vs pre-norm LayerNorm (no warmup): ${vs.join(', ')}`,
  };
}

function trainsVerdict(claim: string, name: string, runs: DepthRun[]): Verdict {
  const pre = runs.filter((r) => r.placement === 'pre');
  const bad = pre.filter((r) => r.run.diverged);
  const status: Status =
    pre.length === 0
      ? 'inconclusive'
      : bad.length === 0
        ? 'agrees'
        : bad.every((r) => !r.warmup)
          ? 'partly'
          : 'disagrees';
  const line = (warmup: boolean) =>
    pre
      .filter((r) => r.warmup === warmup)
      .map(describeRun)
      .join('; ');
  return { claim, status, evidence: `${name}, no warmup: ${line(false)}. With warmup: ${line(true)}` };
}

function gradVerdict(d: DepthData): Verdict {
  type Trend = DepthData['gradientTrend'][number];
  const find = (placement: 'pre' | 'post', when: 'init' | 'trained', warmup: boolean) =>
    d.gradientTrend.find(
      (g) => g.norm === BASE && g.placement === placement && g.when === when && g.warmup === warmup,
    )!;
  const depth = Math.max(...d.depths);
  const diverged = (placement: 'pre' | 'post', warmup: boolean) =>
    baseRuns(d).find((r) => r.placement === placement && r.depth === depth && r.warmup === warmup)!.run.diverged;
  // after training: the runs without warmup (the same runs as at init), unless post-norm's diverged
  const trainedWarmup = diverged('post', false);
  const moments: { name: string; post: Trend; pre: Trend }[] = [
    { name: 'at init', post: find('post', 'init', false), pre: find('pre', 'init', false) },
    {
      name: `after ${d.steps} steps${trainedWarmup ? ' (with warmup: post-norm without it diverged)' : ''}`,
      post: find('post', 'trained', trainedWarmup),
      pre: find('pre', 'trained', trainedWarmup),
    },
  ];
  // shrinking toward the input: block 0's gradient is at most half the last block's, and more so than in pre-norm
  const shrinks = (m: (typeof moments)[number]) =>
    m.post.firstOverLast !== null &&
    m.pre.firstOverLast !== null &&
    m.post.firstOverLast <= 0.5 &&
    Math.abs(Math.log(m.post.firstOverLast)) > Math.abs(Math.log(m.pre.firstOverLast));
  const measured = moments.filter((m) => m.post.firstOverLast !== null && m.pre.firstOverLast !== null);
  const held = moments.filter(shrinks).length;
  const status: Status =
    measured.length === 0 ? 'inconclusive' : held === moments.length ? 'agrees' : held > 0 ? 'partly' : 'disagrees';
  const perLayer = (t: Trend) => (t.logSlope === null ? '—' : fmt(Math.exp(-t.logSlope), 3));
  return {
    claim: CLAIM_GRAD,
    status,
    evidence:
      `block 0 / block ${depth - 1} gradient norm, ${depth} layers: ` +
      moments
        .map(
          (m) =>
            `${m.name}: post-norm ${fmt(m.post.firstOverLast, 3)} (x${perLayer(m.post)} per block going down, fitted) ` +
            `vs pre-norm ${fmt(m.pre.firstOverLast, 3)}`,
        )
        .join('; ') +
      `. Agrees when post-norm's ratio is 0.5 or less and further from 1 than pre-norm's, both at init and after ` +
      'training; partly when only one of the two',
  };
}

export function renderDepth(r: ExperimentResult<'depth'>): string {
  const d = r.data;
  const maxInitial = Math.max(...d.runs.map((x) => x.run.initialLoss ?? 0));
  const cap = maxInitial * 1.25;
  const extras = [...new Set(d.runs.map((x) => x.norm))].filter((n) => n !== BASE);
  const lossChart = (placement: 'pre' | 'post', warmup: boolean, norm: string = BASE) =>
    lineChartSvg({
      title: `${norm === BASE ? '' : `${norm}, `}${placement}-norm, ${warmup ? `warmup ${d.warmupSteps}` : 'no warmup'} (EMA; clipped at ${cap.toFixed(1)})`,
      xLabel: 'step',
      yLabel: 'training loss',
      series: d.runs
        .filter((x) => x.norm === norm && x.placement === placement && x.warmup === warmup)
        .map((x) => ({
          name: `L=${x.depth}${x.run.diverged ? ' (diverged)' : ''}`,
          points: ema(x.run.losses, 0.1).flatMap((v, i) => (v === null ? [] : [[i + 1, Math.min(v, cap)] as const])),
        })),
      width: 560,
      height: 320,
    });
  const deepest = Math.max(...d.depths);
  const gradChart = (when: 'init' | 'trained') => {
    const step = when === 'init' ? 0 : d.steps - 1;
    const series = [];
    const lines = [
      ...PLACEMENTS.map((placement) => ({ norm: BASE, placement })),
      ...extras.map((norm) => ({ norm, placement: 'pre' as const })),
    ];
    for (const { norm, placement } of lines) {
      for (const warmup of when === 'init' ? [false] : [false, true]) {
        const x = d.runs.find(
          (q) => q.norm === norm && q.placement === placement && q.depth === deepest && q.warmup === warmup,
        );
        if (!x) continue;
        const rec = x.run.gradNorms.find((g) => g.step === step);
        series.push({
          name: `${norm === BASE ? '' : `${norm} `}${placement}-norm${when === 'trained' && warmup ? ' +warmup' : ''}`,
          points: (rec?.layers ?? []).flatMap((l) => (l.norm === null ? [] : [[l.layer, l.norm] as const])),
        });
      }
    }
    return lineChartSvg({
      title: `per-block gradient norm, ${deepest} layers, ${when === 'init' ? 'at init (step 0)' : `step ${step}`}`,
      xLabel: 'block (0 = nearest the input)',
      yLabel: 'gradient L2 norm (log)',
      series,
      logY: true,
      width: 560,
      height: 320,
    });
  };
  const svgs = [
    lossChart('pre', false),
    lossChart('post', false),
    lossChart('pre', true),
    lossChart('post', true),
    ...extras.flatMap((n) => [lossChart('pre', false, n), lossChart('pre', true, n)]),
    gradChart('init'),
    gradChart('trained'),
  ];
  const runTable = table(
    [
      'norm',
      'placement',
      'warmup',
      'layers',
      'initial loss',
      'final train loss',
      'final val loss',
      'diverged',
      'non-finite steps',
      'seconds',
    ],
    d.runs.map((x) => [
      x.norm,
      `${x.placement}-norm`,
      x.warmup ? String(d.warmupSteps) : 'none',
      String(x.depth),
      fmt(x.run.initialLoss, 3),
      fmt(x.run.tailLoss, 3),
      fmt(x.run.finalVal, 3),
      x.run.diverged ? `yes: ${x.run.divergedReason}` : 'no',
      String(x.run.nonFiniteSteps),
      fmt(x.run.seconds, 1),
    ]),
    'Every run: same seed, data and fixed learning rate; divergence = a NaN/Inf step or a final loss not below the initial one',
  );
  const gradRows: string[][] = [];
  const pick = (placement: 'pre' | 'post', warmup: boolean, step: number, norm: string = BASE) =>
    d.runs
      .find((q) => q.norm === norm && q.placement === placement && q.depth === deepest && q.warmup === warmup)
      ?.run.gradNorms.find((g) => g.step === step)?.layers ?? [];
  const cols = [
    pick('pre', false, 0),
    pick('post', false, 0),
    pick('pre', false, d.steps - 1),
    pick('post', false, d.steps - 1),
    pick('pre', true, d.steps - 1),
    pick('post', true, d.steps - 1),
    ...extras.flatMap((n) => [pick('pre', false, 0, n), pick('pre', false, d.steps - 1, n)]),
  ];
  for (let layer = 0; layer < deepest; layer++) {
    gradRows.push([String(layer), ...cols.map((c) => fmt(c.find((l) => l.layer === layer)?.norm ?? null, 4))]);
  }
  const gradTable = table(
    [
      'block',
      'pre, init',
      'post, init',
      'pre, trained',
      'post, trained',
      'pre +warmup, trained',
      'post +warmup, trained',
      ...extras.flatMap((n) => [`${n} pre, init`, `${n} pre, trained`]),
    ],
    gradRows,
    `Per-block gradient L2 norm (all parameters of the block, before clipping), ${deepest} layers`,
  );
  const note =
    `<p class="note">${d.dModel} wide, ${d.nHeads} heads, context ${d.contextLength}, batch ${d.batchSize}, LayerNorm` +
    `${extras.length > 0 ? ` (and pre-norm ${extras.join(', ')})` : ''}, ` +
    `${d.steps} steps at a fixed lr ${d.lr} (AdamW, clip 1), with and without ${d.warmupSteps} linear warmup steps.</p>`;
  return `${verdictList(r.verdicts)}\n${note}\n${charts(svgs)}\n${runTable}\n${gradTable}`;
}
