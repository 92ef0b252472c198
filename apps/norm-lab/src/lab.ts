import { mkdirSync } from 'node:fs';
import { cpus, platform } from 'node:os';
import { join } from 'node:path';
import { type BackendPreference, CliError, chooseBackend, loadPlugins } from '@tinyformer/charlm';
import { writeFileAtomic } from '@tinyformer/model/node';
import { normKind } from '@tinyformer/norm';
import { CpuBackend, setBackend } from '@tinyformer/tensor';
import { dataInfo, type ExtraNorm, type LabContext, loadDataset } from './context.js';
import { runDepth } from './experiments/depth.js';
import { runQuality } from './experiments/quality.js';
import { runResidual } from './experiments/residual.js';
import { runSpeed } from './experiments/speed.js';
import { statusLine } from './html.js';
import { renderReport } from './report.js';
import { type ExperimentName, type LabResults, resultsSchema } from './schema.js';
import { type LabSizes, SIZES } from './sizes.js';

export interface LabOptions {
  experiments: readonly ExperimentName[];
  /** 'quick' | 'full', or explicit sizes (tests run smaller than quick) */
  size: 'quick' | 'full' | LabSizes;
  backend: BackendPreference;
  out: string;
  /** a UTF-8 text file; default: the embedded Brown corpus */
  data?: string;
  /** use only the first n characters of the corpus */
  maxChars?: number;
  seed: number;
  log: (line: string) => void;
  /** module files or package folders (relative to the current directory) that register extra norm kinds */
  plugins?: readonly string[];
  /** extra norm kinds already registered by the caller; quality and depth train them beside the built-ins */
  extraNorms?: readonly string[];
  /** imports @tinyformer/backend-gpu (from this package's dependencies, so the lab finds it) */
  loadGpu?: () => Promise<unknown>;
}

// a variable specifier keeps the optional GPU package out of the build's type resolution
const GPU_PACKAGE = '@tinyformer/backend-gpu';

export function reportPaths(out: string) {
  return { html: join(out, 'index.html'), json: join(out, 'results.json') };
}

/**
 * Runs the experiments in order on one backend (chosen once, at start-up) and writes results.json and index.html
 * after each, so an interrupted full run keeps what it finished. Every number is validated against the schema.
 */
export async function runLab(o: LabOptions): Promise<LabResults> {
  const t0 = performance.now();
  // before anything else: the experiments read the registry, and a bad plugin should fail in a second, not later
  const plugins = await loadPlugins(o.plugins ?? []);
  const extraNorms: ExtraNorm[] = [];
  for (const kind of [...(o.extraNorms ?? []), ...plugins.flatMap((p) => p.kinds.map((k) => k.kind))]) {
    const def = normKind(kind);
    if (!def) throw new CliError(`norm kind ${JSON.stringify(kind)} is not registered`);
    if (['rmsnorm', 'layernorm'].includes(kind) || extraNorms.some((x) => x.kind === kind)) continue;
    extraNorms.push({ kind, description: def.description });
  }
  for (const p of plugins) {
    o.log(`plugin ${p.path}: ${p.module} registered ${p.kinds.map((k) => k.kind).join(', ')}`);
  }
  const chosen = await chooseBackend(o.backend, o.loadGpu ?? (() => import(GPU_PACKAGE)));
  o.log(`backend: ${chosen.reason}`);
  try {
    mkdirSync(o.out, { recursive: true });
  } catch (e) {
    throw new CliError(`cannot create the report folder ${o.out}: ${(e as Error).message}`);
  }
  setBackend(chosen.backend);
  try {
    const { dataset, source } = loadDataset({ data: o.data, maxChars: o.maxChars });
    const speedBackends = [{ backend: chosen.backend, label: chosen.backend.name }];
    // the speed experiment compares every backend it can: the CPU always, plus the device when one was chosen
    if (chosen.backend.name !== 'cpu') speedBackends.unshift({ backend: new CpuBackend(), label: 'cpu' });
    const ctx: LabContext = {
      backend: chosen.backend,
      speedBackends,
      dataset,
      dataSource: source,
      seed: o.seed,
      log: o.log,
      extraNorms,
    };
    const sizes = typeof o.size === 'string' ? SIZES[o.size] : o.size;
    const d = dataInfo(ctx);
    o.log(
      `data: ${d.source}, ${d.chars.toLocaleString('en-US')} characters (vocabulary ${d.vocabSize}); ` +
        `size: ${typeof o.size === 'string' ? o.size : 'custom'}; report: ${o.out}`,
    );
    const cpu = cpus();
    const results: LabResults = {
      tool: 'norm-lab',
      version: 1,
      createdAt: new Date().toISOString(),
      size: typeof o.size === 'string' ? o.size : 'custom',
      backend: chosen.reason,
      data: d,
      seed: o.seed,
      environment: {
        node: process.versions.node,
        platform: `${platform()} ${process.arch}`,
        cpus: cpu.length,
        cpuModel: cpu[0]?.model.trim() ?? 'unknown',
      },
      plugins,
      seconds: 0,
      experiments: {},
    };
    for (const name of o.experiments) {
      o.log(`\n== ${name}`);
      const e = results.experiments;
      switch (name) {
        case 'speed':
          e.speed = await runSpeed(ctx, sizes.speed);
          break;
        case 'quality':
          e.quality = await runQuality(ctx, sizes.quality);
          break;
        case 'depth':
          e.depth = await runDepth(ctx, sizes.depth);
          break;
        case 'residual':
          e.residual = await runResidual(ctx, sizes.residual);
          break;
      }
      const done = e[name]!;
      o.log(`-- ${name}: ${done.seconds.toFixed(1)} s`);
      for (const v of done.verdicts) o.log(statusLine(v));
      results.seconds = (performance.now() - t0) / 1000;
      writeReport(o.out, results);
    }
    results.seconds = (performance.now() - t0) / 1000;
    writeReport(o.out, results);
    // a schema failure is a bug in the lab; the files are already written so the numbers are not lost
    const check = resultsSchema.safeParse(JSON.parse(JSON.stringify(results)));
    if (!check.success) {
      throw new Error(`norm-lab: results.json does not match its schema:\n${check.error.message}`);
    }
    const p = reportPaths(o.out);
    o.log(`\nwrote ${p.html} and ${p.json} (${results.seconds.toFixed(0)} s)`);
    return results;
  } finally {
    await chosen.dispose();
  }
}

function writeReport(out: string, results: LabResults): void {
  const p = reportPaths(out);
  writeFileAtomic(p.json, `${JSON.stringify(results, null, 1)}\n`);
  writeFileAtomic(p.html, renderReport(results));
}
