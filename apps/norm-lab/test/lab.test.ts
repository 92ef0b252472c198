import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '@tinyformer/charlm';
import { RMSNorm, registerNormKind } from '@tinyformer/norm';
import { CpuBackend, setBackend } from '@tinyformer/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { type LabContext, loadDataset } from '../src/context.js';
import { reportPaths, runLab } from '../src/lab.js';
import { EXPERIMENTS, type ExperimentName, type LabResults, resultsSchema, runSchema } from '../src/schema.js';
import type { LabSizes } from '../src/sizes.js';
import { constantLr, type RunResult, trainRun } from '../src/train-run.js';

// Smaller than --quick: the test checks the plumbing and the schema, not the verdicts.
const TINY: LabSizes = {
  speed: {
    shapes: [
      [64, 32],
      [256, 64],
    ],
    fusedRuns: 1,
    compositeRuns: 1,
    stepModel: { contextLength: 8, dModel: 16, nLayers: 1, nHeads: 2 },
    stepBatch: 2,
    stepWarmup: 1,
    stepRuns: 2,
  },
  quality: {
    model: { contextLength: 16, dModel: 16, nLayers: 1, nHeads: 2 },
    batchSize: 4,
    steps: 6,
    lr: 3e-3,
    minLr: 3e-4,
    warmup: 2,
    evalEvery: 3,
    evalBatches: 2,
    finalEvalBatches: 2,
    seeds: [0, 1],
  },
  depth: {
    depths: [2, 12],
    dModel: 16,
    nHeads: 2,
    contextLength: 8,
    batchSize: 2,
    steps: 6,
    lr: 3e-3,
    warmup: 2,
    finalEvalBatches: 2,
  },
  residual: {
    model: { contextLength: 16, dModel: 16, nLayers: 3, nHeads: 2 },
    batchSize: 4,
    steps: 6,
    lr: 3e-3,
    warmup: 2,
  },
};

const dir = mkdtempSync(join(tmpdir(), 'norm-lab-'));
const corpus = join(dir, 'corpus.txt');
const lines: string[] = [];
const log = (line: string) => lines.push(line);
const results = new Map<ExperimentName, { json: LabResults; html: string }>();

/** Every loss that is null must belong to a run flagged as diverged with a non-finite step. */
function checkRun(run: RunResult): void {
  expect(run.stepsRun).toBeGreaterThan(0);
  expect(run.losses).toHaveLength(run.stepsRun);
  if (run.losses.some((l) => l === null)) {
    expect(run.diverged).toBe(true);
    expect(run.nonFiniteSteps).toBeGreaterThan(0);
  }
  if (!run.diverged) {
    for (const l of run.losses) expect(Number.isFinite(l)).toBe(true);
    expect(run.finalVal === null || Number.isFinite(run.finalVal)).toBe(true);
  }
  expect(run.seconds).toBeGreaterThan(0);
}

beforeAll(async () => {
  // English-like text with enough variety for 8-16 token windows in both splits
  const base =
    'The quick brown fox jumps over the lazy dog. A tiny model learns tiny things, slowly; then faster! ' +
    'Numbers 0123456789 and "quotes" (parens) appear too.\n';
  writeFileSync(corpus, base.repeat(60));
  for (const name of EXPERIMENTS) {
    const out = join(dir, name);
    await runLab({ experiments: [name], size: TINY, backend: 'cpu', out, data: corpus, seed: 7, log });
    const p = reportPaths(out);
    results.set(name, { json: JSON.parse(readFileSync(p.json, 'utf8')), html: readFileSync(p.html, 'utf8') });
  }
});

afterAll(() => setBackend(new CpuBackend()));

describe('norm-lab run <experiment>', () => {
  it.each(EXPERIMENTS)('%s writes a results.json that matches the schema, with only that experiment', (name) => {
    const { json } = results.get(name)!;
    const parsed = resultsSchema.safeParse(json);
    expect(parsed.success, parsed.success ? '' : parsed.error.message).toBe(true);
    expect(Object.keys(json.experiments)).toEqual([name]);
    expect(json.size).toBe('custom');
    expect(json.backend).toMatch(/^cpu/);
    expect(json.data.source).toBe(corpus);
    const e = json.experiments[name]!;
    expect(e.verdicts.length).toBeGreaterThan(0);
    for (const v of e.verdicts) expect(['agrees', 'partly', 'disagrees', 'inconclusive']).toContain(v.status);
  });

  it('index.html is self-contained and has a chart in each experiment section', () => {
    for (const name of EXPERIMENTS) {
      const { html } = results.get(name)!;
      expect(html).toMatch(/^<!doctype html>/);
      const section = html.slice(html.indexOf(`<section id="${name}">`));
      expect(section.indexOf('<section')).toBe(0);
      expect(section).toContain('<svg');
      // nothing to fetch: no scripts, stylesheets, images or fonts from elsewhere
      expect(html).not.toMatch(/<script|<link|<img|@import|url\(|src=/i);
      expect(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')).not.toMatch(/https?:\/\//);
    }
  });

  it('speed: every timing is a positive finite number, for each shape and both norms', () => {
    const d = results.get('speed')!.json.experiments.speed!.data;
    expect(d.kernels.map((k) => `${k.rows}x${k.dim} ${k.variant}`)).toEqual([
      '64x32 fused',
      '256x64 fused',
      '64x32 composite',
      '256x64 composite',
    ]);
    for (const k of d.kernels) for (const v of [k.rmsMs, k.layerMs, k.speedup]) expect(v).toBeGreaterThan(0);
    expect(d.steps).toHaveLength(1);
    const s = d.steps[0]!;
    expect(s.rmsnorm.stepMs).toHaveLength(2);
    expect(s.layernorm.tokensPerSec).toBeGreaterThan(0);
    expect(s.speedup).toBeCloseTo(s.rmsnorm.tokensPerSec / s.layernorm.tokensPerSec, 10);
  });

  it('quality: both norms with each seed, same data, curves and validation losses', () => {
    const d = results.get('quality')!.json.experiments.quality!.data;
    expect(d.runs.map((r) => `${r.norm}/${r.seed}`)).toEqual(['rmsnorm/7', 'layernorm/7', 'rmsnorm/8', 'layernorm/8']);
    for (const r of d.runs) {
      checkRun(r.run);
      expect(r.run.stepsRun).toBe(6);
      // periodic evals at step 3, then the final one
      expect(r.run.val.map((v) => v.step)).toEqual([3, 6]);
    }
    // same init seed and batches: the two norms start from the same loss
    expect(d.runs[0]!.run.initialLoss).toBeCloseTo(d.runs[1]!.run.initialLoss!, 2);
    expect(d.summary.seedSpread).toBeGreaterThanOrEqual(0);
  });

  it('depth: every placement x depth x warmup, with per-layer gradient norms at init and at the end', () => {
    const d = results.get('depth')!.json.experiments.depth!.data;
    expect(d.runs).toHaveLength(2 * 2 * 2);
    for (const r of d.runs) {
      checkRun(r.run);
      expect(r.run.gradNorms.map((g) => g.step)).toEqual([0, 5]);
      for (const g of r.run.gradNorms) {
        expect(g.layers.map((l) => l.layer)).toEqual([...Array(r.depth).keys()]);
        if (!r.run.diverged) for (const l of g.layers) expect(l.norm).toBeGreaterThan(0);
        expect(g.other.map((o) => o.group)).toContain('wte');
      }
    }
    expect(d.gradientTrend.map((g) => `${g.placement} ${g.when} ${g.warmup}`)).toEqual([
      'pre init false',
      'pre trained false',
      'pre trained true',
      'post init false',
      'post trained false',
      'post trained true',
    ]);
    const verdicts = results.get('depth')!.json.experiments.depth!.verdicts;
    expect(verdicts).toHaveLength(3);
  });

  it('residual: the four probed activations per block, at init and after training', () => {
    const d = results.get('residual')!.json.experiments.residual!.data;
    checkRun(d.run);
    expect(d.probes.map((p) => p.when)).toEqual(['init', 'trained']);
    for (const p of d.probes) {
      expect(p.layers.map((l) => l.layer)).toEqual([0, 1, 2]);
      for (const l of p.layers)
        for (const v of [l.norm1_out, l.resid_mid, l.norm2_out, l.resid_out]) expect(v).toBeGreaterThan(0);
    }
    // RMSNorm with gain 1 at init: the normalized inputs are at unit scale up to eps
    for (const l of d.probes[0]!.layers) expect(l.norm1_out).toBeCloseTo(1, 1);
    // the stream enters as the token embedding, initialized N(0, 0.02)
    expect(d.probes[0]!.embedRms).toBeCloseTo(0.02, 2);
    expect(d.probes[1]!.embedRms).toBeGreaterThan(0);
  });
});

describe('divergence is recorded, not thrown', () => {
  it('a run at an absurd learning rate records its NaN/Inf losses as null and is flagged diverged', async () => {
    const { dataset, source } = loadDataset({ data: corpus });
    const backend = new CpuBackend();
    setBackend(backend);
    const ctx: LabContext = {
      backend,
      speedBackends: [],
      dataset,
      dataSource: source,
      seed: 1,
      log,
    };
    const run = await trainRun(ctx, {
      label: 'blow-up',
      model: { contextLength: 8, dModel: 16, nLayers: 2, nHeads: 2, norm: { kind: 'layernorm', placement: 'post' } },
      batchSize: 2,
      steps: 12,
      schedule: constantLr(1e4, 0, 12),
      seed: 1,
      finalEvalBatches: 2,
      gradNormSteps: [0, 11],
      maxConsecutiveNonFinite: 3,
    });
    expect(run.diverged).toBe(true);
    expect(run.nonFiniteSteps).toBeGreaterThan(0);
    expect(run.losses).toContain(null);
    expect(run.losses[0]).toBeGreaterThan(0);
    // three non-finite steps in a row end the run early
    expect(run.stoppedAt).toBeLessThan(12);
    expect(run.divergedReason).toMatch(/non-finite step/);
    checkRun(run);
    // what lands in results.json: JSON has no NaN, and the schema accepts the nulls
    const roundTrip = JSON.parse(JSON.stringify(run));
    expect(runSchema.safeParse(roundTrip).success).toBe(true);
  });
});

describe('norm-lab CLI', () => {
  it('runs one experiment at --quick size from main()', async () => {
    const out = join(dir, 'cli');
    expect(await main(['run', 'residual', '--quick', '--backend', 'cpu', '--out', out, '--data', corpus])).toBe(0);
    const json = JSON.parse(readFileSync(reportPaths(out).json, 'utf8'));
    expect(resultsSchema.safeParse(json).success).toBe(true);
    expect(json.size).toBe('quick');
    expect(existsSync(reportPaths(out).html)).toBe(true);
  });

  it('refuses unknown experiments, commands and options with a clear message', async () => {
    await expect(main(['run', 'speeed', '--out', dir])).rejects.toThrow(
      /unknown experiment "speeed"; choose one of speed/,
    );
    await expect(main(['run'])).rejects.toThrow(CliError);
    await expect(main(['walk', 'all'])).rejects.toThrow(/unknown command "walk"/);
    await expect(main(['run', 'all', '--backend', 'tpu'])).rejects.toThrow(
      /--backend must be one of auto \| cpu \| gpu/,
    );
    await expect(main(['run', 'all', '--seed', '1.5'])).rejects.toThrow(/--seed must be an integer/);
    await expect(main(['run', 'all', '--frobnicate'])).rejects.toThrow(/frobnicate/);
  });
});

describe('extra norm kinds (registered before the run, as --plugin does)', () => {
  let json: LabResults;
  let html: string;
  beforeAll(async () => {
    // a kind that is RMSNorm under another name: the plumbing is under test, not the norm
    const unregister = registerNormKind({
      kind: 'twin-rms',
      description: 'RMSNorm registered again under another name',
      create: (dim, o) => new RMSNorm(dim, o.eps, o.affine),
    });
    try {
      const out = join(dir, 'extra');
      const sizes = { ...TINY, depth: { ...TINY.depth, depths: [2, 3] } };
      await runLab({
        experiments: ['quality', 'depth'],
        size: sizes,
        backend: 'cpu',
        out,
        data: corpus,
        seed: 7,
        log,
        extraNorms: ['twin-rms'],
      });
      json = JSON.parse(readFileSync(reportPaths(out).json, 'utf8'));
      html = readFileSync(reportPaths(out).html, 'utf8');
    } finally {
      unregister();
    }
  });

  it('quality trains the kind with every seed, with its own claim line', () => {
    expect(resultsSchema.safeParse(json).success).toBe(true);
    const q = json.experiments.quality!;
    expect(q.data.runs.map((r) => `${r.norm}/${r.seed}`)).toEqual([
      'rmsnorm/7',
      'layernorm/7',
      'twin-rms/7',
      'rmsnorm/8',
      'layernorm/8',
      'twin-rms/8',
    ]);
    // the same model, seed and batches as RMSNorm: the same numbers
    for (const seed of [7, 8]) {
      const [a, b] = ['rmsnorm', 'twin-rms'].map((n) => q.data.runs.find((r) => r.norm === n && r.seed === seed)!.run);
      expect(b!.losses).toEqual(a!.losses);
      expect(b!.finalVal).toBe(a!.finalVal);
    }
    expect(q.data.summary.extra).toEqual([
      {
        norm: 'twin-rms',
        finalVal: q.data.summary.rmsnormFinalVal,
        difference: 0,
        relativeToRmsnorm: 0,
        seedSpread: expect.any(Number),
      },
    ]);
    expect(q.verdicts.map((v) => v.status)).toHaveLength(2);
    expect(q.verdicts[1]).toMatchObject({
      status: 'agrees',
      claim: expect.stringMatching(/^twin-rms .*can replace RMSNorm/),
    });
    expect(html).toContain('twin-rms (seed 8)');
  });

  it('depth runs the kind pre-norm at every depth, with and without warmup, with its own claim line', () => {
    const d = json.experiments.depth!;
    const extra = d.data.runs.filter((r) => r.norm === 'twin-rms');
    expect(extra.map((r) => `${r.placement} ${r.depth} ${r.warmup}`)).toEqual([
      'pre 2 false',
      'pre 3 false',
      'pre 2 true',
      'pre 3 true',
    ]);
    expect(d.data.runs.filter((r) => r.norm === 'layernorm')).toHaveLength(2 * 2 * 2);
    expect(d.data.gradientTrend.filter((g) => g.norm === 'twin-rms').map((g) => `${g.when} ${g.warmup}`)).toEqual([
      'init false',
      'trained false',
      'trained true',
    ]);
    expect(d.verdicts).toHaveLength(4);
    expect(d.verdicts[3]!.claim).toBe('Pre-norm with twin-rms trains at every depth');
    expect(html).toContain('twin-rms, pre-norm, no warmup');
    expect(html).toContain('twin-rms pre-norm');
  });
});
