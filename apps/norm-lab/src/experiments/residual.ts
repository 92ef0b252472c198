import { noGrad } from '@tinyformer/autograd';
import { lineChartSvg } from '@tinyformer/charlm';
import { ActivationProbe, type DecoderLM } from '@tinyformer/model';
import { mean, sqrt, tensor, tidy } from '@tinyformer/tensor';
import type { LabContext } from '../context.js';
import { charts, table, verdictList } from '../html.js';
import type { ExperimentResult, ResidualData, Status, Verdict } from '../schema.js';
import type { ResidualSize } from '../sizes.js';
import { fmt } from '../stats.js';
import { constantLr, trainRun } from '../train-run.js';

const CLAIM_GROWS = 'In pre-norm, the RMS of the residual stream grows with depth';
const CLAIM_UNIT = "In pre-norm, each block's normalized input stays at unit scale";
const NAMES = ['norm1_out', 'resid_mid', 'norm2_out', 'resid_out'] as const;
/** thresholds fixed before measuring: growth of 1.5x or more, rising at 80% or more of the block-to-block steps */
const GROWTH = 1.5;
const MONOTONE = 0.8;
/** unit scale: every norm output's RMS within a factor of 1.5 of 1 (the probe sees it after the learned gain) */
const UNIT_FACTOR = 1.5;

type Probe = ResidualData['probes'][number];

/**
 * Per-layer RMS of the four probed activations on the first validation windows (the same text every time), and the
 * RMS of the embedding that enters block 0 (the start of the residual stream, which the probe does not see).
 */
async function probe(ctx: LabContext, model: DecoderLM, batchSize: number, when: Probe['when'], step: number) {
  const T = model.config.contextLength;
  const val = ctx.dataset.val;
  const rows = Math.max(1, Math.min(batchSize, Math.floor(val.length / T)));
  const ids = Int32Array.from(val.subarray(0, rows * T));
  const probe = new ActivationProbe();
  const embedRms = noGrad(() =>
    tidy(() => {
      const x = tensor(ids, [rows, T], { dtype: 'int32' });
      model.forward(x, { probe });
      let e = model.wte.forward(x);
      if (model.wpe) e = e.add(model.wpe.slice([0, 0], [T, model.config.dModel]));
      return sqrt(mean(e.square()));
    }),
  );
  const embed = (await embedRms.data())[0]!;
  embedRms.dispose();
  const layers = new Map<number, Partial<Record<(typeof NAMES)[number], number>>>();
  for (const { layer, name, rms } of await probe.read()) {
    const entry = layers.get(layer) ?? {};
    entry[name as (typeof NAMES)[number]] = rms;
    layers.set(layer, entry);
  }
  const list = [...layers]
    .sort(([a], [b]) => a - b)
    .map(([layer, e]) => ({
      layer,
      norm1_out: e.norm1_out!,
      resid_mid: e.resid_mid!,
      norm2_out: e.norm2_out!,
      resid_out: e.resid_out!,
    }));
  return summarize(when, step, embed, list);
}

function summarize(when: Probe['when'], step: number, embedRms: number, layers: Probe['layers']): Probe {
  const first = layers[0]!.resid_out;
  const last = layers[layers.length - 1]!.resid_out;
  const factors = layers.flatMap((l) => [l.norm1_out, l.norm2_out]).map((v) => Math.max(v, 1 / v));
  return { when, step, embedRms, layers, residualGrowth: last / first, normOutWorstFactor: Math.max(...factors) };
}

function rising(layers: Probe['layers']): number {
  if (layers.length < 2) return 0;
  let up = 0;
  for (let i = 1; i < layers.length; i++) if (layers[i]!.resid_out > layers[i - 1]!.resid_out) up++;
  return up / (layers.length - 1);
}

export async function runResidual(ctx: LabContext, size: ResidualSize): Promise<ExperimentResult<'residual'>> {
  const t0 = performance.now();
  const model = { ...size.model, norm: { kind: 'rmsnorm' as const, placement: 'pre' as const } };
  const schedule = constantLr(size.lr, size.warmup, size.steps);
  const probes: Probe[] = [];
  ctx.log(
    `  pre-norm RMSNorm, ${size.model.nLayers} layers x ${size.model.dModel}: probe at init, train ${size.steps} steps, probe again`,
  );
  const run = await trainRun(
    ctx,
    {
      label: 'residual',
      model,
      batchSize: size.batchSize,
      steps: size.steps,
      schedule,
      seed: ctx.seed,
      finalEvalBatches: 10,
    },
    {
      before: async (m) => void probes.push(await probe(ctx, m, size.batchSize, 'init', 0)),
      after: async (m) => void probes.push(await probe(ctx, m, size.batchSize, 'trained', size.steps)),
    },
  );
  const data: ResidualData = { model: size.model, batchSize: size.batchSize, steps: size.steps, schedule, run, probes };
  return {
    title: 'Residual stream vs normalized input (pre-norm)',
    claim: `${CLAIM_GROWS}; ${CLAIM_UNIT}`,
    verdicts: verdicts(data),
    seconds: (performance.now() - t0) / 1000,
    data,
  };
}

function verdicts(d: ResidualData): Verdict[] {
  const init = d.probes.find((p) => p.when === 'init')!;
  const trained = d.probes.find((p) => p.when === 'trained')!;
  const describe = (p: Probe) =>
    `${p.when === 'init' ? 'at init' : `after ${p.step} steps`}: embedding RMS ${fmt(p.embedRms, 3)}, resid_out RMS ${fmt(p.layers[0]!.resid_out, 3)} ` +
    `(block 0) -> ${fmt(p.layers[p.layers.length - 1]!.resid_out, 3)} (block ${p.layers.length - 1}), ` +
    `x${fmt(p.residualGrowth, 2)}, rising at ${Math.round(rising(p.layers) * 100)}% of blocks`;
  const g = trained.residualGrowth;
  const growStatus: Status =
    g >= GROWTH && rising(trained.layers) >= MONOTONE ? 'agrees' : g > 1 ? 'partly' : 'disagrees';
  const unitRange = (p: Probe) => {
    const v = p.layers.flatMap((l) => [l.norm1_out, l.norm2_out]);
    return `${fmt(Math.min(...v), 3)}..${fmt(Math.max(...v), 3)}`;
  };
  const f = trained.normOutWorstFactor;
  const unitStatus: Status = f <= UNIT_FACTOR ? 'agrees' : f <= 2 * UNIT_FACTOR ? 'partly' : 'disagrees';
  return [
    {
      claim: CLAIM_GROWS,
      status: growStatus,
      evidence: `${describe(trained)}; ${describe(init)}. Agrees at x${GROWTH} or more, rising at ${MONOTONE * 100}% of blocks or more (trained model)`,
    },
    {
      claim: CLAIM_UNIT,
      status: unitStatus,
      evidence:
        `norm1/norm2 output RMS (after the learned gain) ranges ${unitRange(trained)} after training, ` +
        `${unitRange(init)} at init, while the residual stream spans ${fmt(Math.min(...trained.layers.map((l) => l.resid_out)), 3)}..` +
        `${fmt(Math.max(...trained.layers.map((l) => l.resid_out)), 3)}. Agrees when every value is within x${UNIT_FACTOR} of 1`,
    },
  ];
}

export function renderResidual(r: ExperimentResult<'residual'>): string {
  const d = r.data;
  const chart = (p: Probe) =>
    lineChartSvg({
      title: `per-block activation RMS, ${p.when === 'init' ? 'at init' : `after ${p.step} steps`}`,
      xLabel: 'block',
      yLabel: 'RMS (log)',
      series: NAMES.map((name) => ({ name, points: p.layers.map((l) => [l.layer, l[name]] as const) })),
      logY: true,
      width: 560,
      height: 340,
    });
  const tables = d.probes.map((p) =>
    table(
      ['block', ...NAMES],
      [
        ['embedding (input of block 0)', '', '', '', fmt(p.embedRms, 4)],
        ...p.layers.map((l) => [String(l.layer), ...NAMES.map((n) => fmt(l[n], 4))]),
      ],
      `RMS per block, ${p.when === 'init' ? 'at init' : `after ${p.step} steps`}`,
    ),
  );
  const m = d.model;
  const note =
    `<p class="note">Pre-norm RMSNorm, ${m.nLayers} layers x ${m.dModel}, ${m.nHeads} heads, context ${m.contextLength}; ` +
    `batch ${d.batchSize}, ${d.steps} steps at lr ${d.schedule.lr} (warmup ${d.schedule.warmup}); training loss ` +
    `${fmt(d.run.initialLoss, 3)} -> ${fmt(d.run.tailLoss, 3)}. norm1_out/norm2_out are the inputs of attention and the ` +
    `FFN; resid_mid/resid_out the residual stream after each.</p>`;
  return `${verdictList(r.verdicts)}\n${note}\n${charts(d.probes.map(chart))}\n${tables.join('\n')}`;
}
