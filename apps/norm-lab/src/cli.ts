#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { type BackendPreference, CliError } from '@tinyformer/charlm';
import { DataError } from '@tinyformer/data';
import { ConfigError } from '@tinyformer/model';
import { TensorError } from '@tinyformer/tensor';
import { runLab } from './lab.js';
import { EXPERIMENTS, type ExperimentName } from './schema.js';

const HELP = `norm-lab: run experiments that test normalization claims and write an offline HTML report

usage: norm-lab run <experiment|all> [options]

experiments:
  speed      RMSNorm vs LayerNorm: fused forward+backward and a whole training step (claim: RMSNorm 10-20% faster)
  quality    the same model with RMSNorm and LayerNorm, same seed and data (claim: equal quality)
  depth      pre- vs post-norm at 2, 6, 12, 24 layers, with and without warmup, per-layer gradient norms
             (claims: post-norm unstable past ~12-24 layers without warmup; pre-norm trains at every depth;
             post-norm shrinks gradients layer by layer)
  residual   pre-norm: residual-stream RMS per layer vs the normalized block inputs
  all        all four, in that order

options:
  --out <dir>        report folder: index.html + results.json (default runs/norm-lab)
  --quick            scaled-down sizes that finish in seconds (smoke test; too small to judge the claims)
  --backend <b>      auto | cpu | gpu (default auto); speed also measures the CPU when a GPU is chosen
  --data <file>      UTF-8 text to train on (default: the embedded Brown Corpus)
  --seed <n>         seed for init and data order (default 1337)
  --plugin <path>    a JS module file or package folder that registers norm kinds when imported (repeatable);
                     quality and depth (pre-norm) also train each kind it adds, with a claim line for each`;

const USER_ERRORS = [CliError, DataError, ConfigError, TensorError];

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP);
    return command ? 0 : 1;
  }
  if (command !== 'run')
    throw new CliError(`unknown command ${JSON.stringify(command)}; usage: norm-lab run <experiment|all>`);
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: {
        help: { type: 'boolean', short: 'h' },
        out: { type: 'string' },
        quick: { type: 'boolean' },
        backend: { type: 'string' },
        data: { type: 'string' },
        seed: { type: 'string' },
        plugin: { type: 'string', multiple: true },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n(see norm-lab --help)`);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new CliError(`run takes one experiment: ${[...EXPERIMENTS, 'all'].join(' | ')}`);
  }
  const which = positionals[0]!;
  if (which !== 'all' && !(EXPERIMENTS as readonly string[]).includes(which)) {
    throw new CliError(
      `unknown experiment ${JSON.stringify(which)}; choose one of ${[...EXPERIMENTS, 'all'].join(' | ')}`,
    );
  }
  const backend = (values.backend ?? 'auto') as string;
  if (!['auto', 'cpu', 'gpu'].includes(backend)) {
    throw new CliError(`--backend must be one of auto | cpu | gpu, got ${JSON.stringify(backend)}`);
  }
  const seedRaw = values.seed as string | undefined;
  const seed = seedRaw === undefined ? 1337 : Number(seedRaw);
  if (!(Number.isInteger(seed) && seed >= 0) || seedRaw?.trim() === '') {
    throw new CliError(`--seed must be an integer >= 0, got ${JSON.stringify(seedRaw)}`);
  }
  await runLab({
    experiments: which === 'all' ? EXPERIMENTS : [which as ExperimentName],
    size: values.quick ? 'quick' : 'full',
    backend: backend as BackendPreference,
    out: (values.out as string | undefined) ?? 'runs/norm-lab',
    data: values.data as string | undefined,
    seed,
    plugins: (values.plugin as string[] | undefined) ?? [],
    log: (line) => console.log(line),
  });
  return 0;
}

/** Runs the CLI: user errors print one clear message (no stack trace) and exit 1. */
export async function run(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    if (USER_ERRORS.some((cls) => e instanceof cls)) {
      console.error(`norm-lab: ${(e as Error).message}`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

const invokedDirectly =
  process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!);
if (invokedDirectly) await run(process.argv.slice(2));
