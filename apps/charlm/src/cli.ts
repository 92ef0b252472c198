#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CheckpointError, ConfigError, resolveModelConfig, SamplingError } from '@tinyformer/model';
import { TensorError } from '@tinyformer/tensor';
import type { BackendPreference } from './backend.js';
import { DataError } from './data/errors.js';
import { CliError } from './errors.js';
import { runEval } from './eval.js';
import { PRESET_NAMES, PRESETS, type PresetName, type TrainSettings } from './presets.js';
import { runPaths } from './run-folder.js';
import { runSample } from './sample.js';
import { SETTING_FLAGS } from './settings-diff.js';
import { runTrain } from './train.js';

const HELP: Record<string, string> = {
  main: `charlm: train a character-level transformer LM end to end

usage: charlm <command> [options]

commands:
  train    train a model (default corpus: the Brown Corpus, embedded)
  sample   generate text from a trained run
  eval     validation loss and bits per character of a trained run

charlm <command> --help shows the options of each command.`,
  train: `usage: charlm train [options]

data and run:
  --preset <name>          ${PRESET_NAMES.join(' | ')} (default tiny)
  --data <file>            UTF-8 text file to train on (default: the embedded Brown Corpus)
  --out <dir>              run folder (default runs/<preset>, or runs/<preset>-2, -3... if that holds a run)
  --force                  overwrite the run already in --out (default: refuse, so no run is lost)
  --iters <n>              optimizer steps
  --resume                 continue the run in --out from its checkpoint (bit-for-bit)
  --stop-at <step>         checkpoint and stop at this step, to be resumed later (train in chunks)
  --backend <b>            auto | cpu | gpu (default auto)
  --seed <n>               seed for init and data order (default 1337)
  --checkpoint-every <n>   write the checkpoint every n steps
  --eval-every <n>         validation loss and a sample every n steps
  --eval-iters <n>         validation batches per periodic eval
  --final-eval-iters <n>   validation batches for the final loss (>= 200, default 200)
  --sample-tokens <n>      length of the samples printed at each eval
  --on-nan <mode>          throw | skip: what a NaN/Inf loss or gradient does (default throw)
  --probe                  log per-layer activation RMS and per-parameter gradient norms (grad_norms)
                           in metrics.jsonl at each eval
model:
  --context <n>  --d-model <n>  --layers <n>  --heads <n>
  --norm <kind>            rmsnorm | layernorm | none
  --placement <p>          pre | post
  --eps <x>                norm epsilon
  --no-affine              norms without learned scale/shift
  --no-norm-bias           LayerNorm without the learned shift (nanoGPT's bias=False)
  --ffn <kind>             swiglu | gelu     --hidden <n>  FFN hidden width
  --positional <kind>      rope | learned
  --untied                 separate LM head (default: tied to the embedding)
  --qk-norm                normalize queries and keys per head
  --final-norm / --no-final-norm
optimizer:
  --batch-size <n>  --lr <x>  --min-lr <x>  --warmup <n>  --weight-decay <x>
  --beta1 <x>  --beta2 <x>  --grad-clip <x>  --accum <n> (gradient accumulation)`,
  sample: `usage: charlm sample --checkpoint <dir|file> [options]

  --checkpoint <path>      run folder (uses its checkpoint.safetensors) or a checkpoint file
  --prompt <text>          text to continue (default: a newline)
  --tokens <n>             characters to generate (default 300)
  --temperature <t>        <= 0 means greedy (default 0.8)
  --top-k <n>              keep the k most likely characters (0 = off; above the vocabulary size: all)
  --top-p <p>              nucleus sampling in (0, 1] (1 = off)
  --seed <n>               sampling seed (default 0)
  --no-cache               recompute the whole window per token (slower; for comparison)
  --backend <b>            auto | cpu | gpu`,
  eval: `usage: charlm eval --checkpoint <dir|file> [options]

  --checkpoint <path>      run folder or checkpoint file
  --data <file>            text to evaluate on: its last 10% (default: the Brown Corpus)
  --batches <n>            validation batches (default 200)
  --batch-size <n>         (default 12)
  --backend <b>            auto | cpu | gpu`,
};

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  preset: { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
  iters: { type: 'string' },
  resume: { type: 'boolean' },
  'stop-at': { type: 'string' },
  force: { type: 'boolean' },
  backend: { type: 'string' },
  seed: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'eval-every': { type: 'string' },
  'eval-iters': { type: 'string' },
  'final-eval-iters': { type: 'string' },
  'sample-tokens': { type: 'string' },
  'on-nan': { type: 'string' },
  probe: { type: 'boolean' },
  context: { type: 'string' },
  'd-model': { type: 'string' },
  layers: { type: 'string' },
  heads: { type: 'string' },
  norm: { type: 'string' },
  placement: { type: 'string' },
  eps: { type: 'string' },
  'no-affine': { type: 'boolean' },
  'no-norm-bias': { type: 'boolean' },
  ffn: { type: 'string' },
  hidden: { type: 'string' },
  positional: { type: 'string' },
  untied: { type: 'boolean' },
  'qk-norm': { type: 'boolean' },
  'final-norm': { type: 'boolean' },
  'no-final-norm': { type: 'boolean' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  'min-lr': { type: 'string' },
  warmup: { type: 'string' },
  'weight-decay': { type: 'string' },
  beta1: { type: 'string' },
  beta2: { type: 'string' },
  'grad-clip': { type: 'string' },
  accum: { type: 'string' },
  checkpoint: { type: 'string' },
  prompt: { type: 'string' },
  tokens: { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'no-cache': { type: 'boolean' },
  batches: { type: 'string' },
} as const;

const ALLOWED: Record<string, readonly string[]> = {
  train: [
    'preset',
    'data',
    'out',
    'iters',
    'resume',
    'stop-at',
    'force',
    'backend',
    'seed',
    'checkpoint-every',
    'eval-every',
    'eval-iters',
    'final-eval-iters',
    'sample-tokens',
    'on-nan',
    'probe',
    'context',
    'd-model',
    'layers',
    'heads',
    'norm',
    'placement',
    'eps',
    'no-affine',
    'no-norm-bias',
    'ffn',
    'hidden',
    'positional',
    'untied',
    'qk-norm',
    'final-norm',
    'no-final-norm',
    'batch-size',
    'lr',
    'min-lr',
    'warmup',
    'weight-decay',
    'beta1',
    'beta2',
    'grad-clip',
    'accum',
  ],
  sample: ['checkpoint', 'prompt', 'tokens', 'temperature', 'top-k', 'top-p', 'seed', 'no-cache', 'backend'],
  eval: ['checkpoint', 'data', 'batches', 'batch-size', 'backend'],
};

type Values = Record<string, string | boolean | undefined>;

/** runs/<preset>, or the first runs/<preset>-N without a checkpoint, so a second `pnpm train` never overwrites the first. */
function defaultRunFolder(preset: string, resume: boolean): string {
  const base = `runs/${preset}`;
  if (resume) return base;
  for (let i = 1; ; i++) {
    const dir = i === 1 ? base : `${base}-${i}`;
    if (!existsSync(runPaths(dir).checkpoint)) return dir;
  }
}

function num(
  values: Values,
  name: string,
  fallback: number,
  check: 'int' | 'posint' | 'number' | 'posnum' = 'number',
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  const ok =
    typeof raw === 'string' &&
    raw.trim() !== '' &&
    Number.isFinite(v) &&
    (check === 'number' ||
      (check === 'posnum' && v > 0) ||
      (check === 'int' && Number.isInteger(v) && v >= 0) ||
      (check === 'posint' && Number.isInteger(v) && v > 0));
  if (!ok) {
    const want = {
      int: 'an integer >= 0',
      posint: 'a positive integer',
      number: 'a number',
      posnum: 'a positive number',
    }[check];
    throw new CliError(`--${name} must be ${want}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

function choice<T extends string>(values: Values, name: string, allowed: readonly T[], fallback: T): T {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (!allowed.includes(raw as T))
    throw new CliError(`--${name} must be one of ${allowed.join(' | ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

/**
 * The training settings: `base` (a preset's, or on --resume the checkpoint's) with the flags applied over it. The
 * model part is validated here, so a bad model flag fails at once and the message names the flag.
 */
function trainSettings(values: Values, base?: TrainSettings): { preset: PresetName; settings: TrainSettings } {
  const preset = choice(values, 'preset', PRESET_NAMES, 'tiny');
  base ??= PRESETS[preset] as TrainSettings;
  const m = { ...base.model } as Record<string, unknown>;
  const norm: Record<string, unknown> = { ...(base.model.norm ?? {}) };
  if (values.context !== undefined) m.contextLength = num(values, 'context', 0, 'posint');
  if (values['d-model'] !== undefined) m.dModel = num(values, 'd-model', 0, 'posint');
  if (values.layers !== undefined) m.nLayers = num(values, 'layers', 0, 'posint');
  if (values.heads !== undefined) m.nHeads = num(values, 'heads', 0, 'posint');
  if (values.norm !== undefined) norm.kind = values.norm;
  if (values.placement !== undefined) norm.placement = values.placement;
  if (values.eps !== undefined) norm.eps = num(values, 'eps', 0, 'posnum');
  if (values['no-affine']) norm.affine = false;
  if (values['no-norm-bias']) norm.bias = false;
  if (Object.keys(norm).length > 0) m.norm = norm;
  if (values.ffn !== undefined || values.hidden !== undefined) {
    m.ffn = {
      ...(base.model.ffn ?? {}),
      kind: values.ffn ?? base.model.ffn?.kind ?? 'swiglu',
      ...(values.hidden !== undefined ? { hiddenDim: num(values, 'hidden', 0, 'posint') } : {}),
    };
  }
  if (values.positional !== undefined) m.positional = values.positional;
  if (values.untied) m.tieEmbeddings = false;
  if (values['qk-norm']) m.qkNorm = true;
  if (values['final-norm'] && values['no-final-norm'])
    throw new CliError('--final-norm and --no-final-norm contradict each other');
  if (values['final-norm']) m.finalNorm = true;
  if (values['no-final-norm']) m.finalNorm = false;
  const s: TrainSettings = {
    ...base,
    model: m as TrainSettings['model'],
    batchSize: num(values, 'batch-size', base.batchSize, 'posint'),
    iters: num(values, 'iters', base.iters, 'posint'),
    lr: num(values, 'lr', base.lr, 'posnum'),
    minLr: num(values, 'min-lr', base.minLr, 'number'),
    warmup: num(values, 'warmup', base.warmup, 'int'),
    weightDecay: num(values, 'weight-decay', base.weightDecay, 'number'),
    beta1: num(values, 'beta1', base.beta1, 'number'),
    beta2: num(values, 'beta2', base.beta2, 'number'),
    gradClip: num(values, 'grad-clip', base.gradClip, 'number'),
    gradAccumulation: num(values, 'accum', base.gradAccumulation, 'posint'),
    evalEvery: num(values, 'eval-every', base.evalEvery, 'posint'),
    evalIters: num(values, 'eval-iters', base.evalIters, 'posint'),
    checkpointEvery: num(values, 'checkpoint-every', base.checkpointEvery, 'posint'),
    sampleTokens: num(values, 'sample-tokens', base.sampleTokens, 'int'),
  };
  if (s.minLr < 0 || s.minLr > s.lr) throw new CliError(`--min-lr must be in [0, --lr = ${s.lr}], got ${s.minLr}`);
  if (s.weightDecay < 0) throw new CliError(`--weight-decay must be >= 0, got ${s.weightDecay}`);
  if (s.gradClip < 0) throw new CliError(`--grad-clip must be >= 0 (0 = off), got ${s.gradClip}`);
  for (const b of ['beta1', 'beta2'] as const) {
    if (!(s[b] >= 0 && s[b] < 1)) throw new CliError(`--${b} must be in [0, 1), got ${s[b]}`);
  }
  try {
    resolveModelConfig({ ...s.model, vocabSize: 1 });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const lines = e.issues.map((i) => {
      const flag = SETTING_FLAGS[i.path];
      return `  - ${i.path}${flag ? ` (${flag})` : ''}: ${i.message}`;
    });
    throw new CliError(
      `invalid model settings (the --preset ${preset} model with the flags given):\n${lines.join('\n')}`,
    );
  }
  return { preset, settings: s };
}

/**
 * `--temperature -1` would read as a flag "-1"; node's parseArgs then asks for `--temperature=-1`. A negative
 * number after a flag that takes a value is the value, so join the two.
 */
function joinNegativeValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = a.startsWith('--') ? a.slice(2) : '';
    const next = args[i + 1];
    const opt = (OPTIONS as Record<string, { type: string }>)[name];
    if (opt?.type === 'string' && next !== undefined && /^-(\d|\.\d|Infinity)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** The allowed option nearest to a mistyped one (case and dashes ignored, then at most 2 edits), if any. */
function closestOption(typed: string, allowed: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  let best: string | undefined;
  let bestDist = 3;
  for (const name of allowed) {
    const d = norm(name) === norm(typed) ? 0 : editDistance(name, typed);
    if (d < bestDist) [best, bestDist] = [name, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

function topP(values: Values): number {
  const p = num(values, 'top-p', 1, 'number');
  if (!(p > 0 && p <= 1)) throw new CliError(`--top-p must be in (0, 1] (1 = off), got ${values['top-p']}`);
  return p;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP.main);
    return command ? 0 : 1;
  }
  if (!(command in ALLOWED))
    throw new CliError(`unknown command ${JSON.stringify(command)}; commands: train, sample, eval`);
  let values: Values;
  try {
    ({ values } = parseArgs({
      args: joinNegativeValues(rest),
      options: OPTIONS,
      strict: true,
      allowPositionals: false,
    }) as {
      values: Values;
    });
  } catch (e) {
    let message = (e as Error).message;
    const unknown = /^Unknown option '--([^']+)'/.exec(message);
    if (unknown) {
      const near = closestOption(unknown[1]!, ALLOWED[command]!);
      message = `Unknown option '--${unknown[1]}'${near ? ` (did you mean --${near}?)` : ''}`;
    }
    throw new CliError(`${message}\n(see charlm ${command} --help)`);
  }
  if (values.help) {
    console.log(HELP[command]);
    return 0;
  }
  const allowed = ALLOWED[command]!;
  for (const k of Object.keys(values)) {
    if (!allowed.includes(k))
      throw new CliError(`charlm ${command} does not take --${k} (see charlm ${command} --help)`);
  }
  const log = (line: string) => console.log(line);
  const backend = choice(values, 'backend', ['auto', 'cpu', 'gpu'] as BackendPreference[], 'auto');
  if (command === 'train') {
    const { preset, settings } = trainSettings(values);
    // a run's exit code is its own (in-process callers may have left one behind)
    process.exitCode = undefined;
    await runTrain({
      settings,
      settingsFor: (checkpointSettings) => trainSettings(values, checkpointSettings).settings,
      data: values.data as string | undefined,
      out: (values.out as string | undefined) ?? defaultRunFolder(preset, Boolean(values.resume)),
      force: Boolean(values.force),
      backend,
      seed: num(values, 'seed', 1337, 'int'),
      resume: Boolean(values.resume),
      onNonFinite: choice(values, 'on-nan', ['throw', 'skip'] as const, 'throw'),
      finalEvalIters: num(values, 'final-eval-iters', 200, 'posint'),
      probe: Boolean(values.probe),
      stopAt: values['stop-at'] === undefined ? undefined : num(values, 'stop-at', 0, 'posint'),
      log,
    });
    return Number(process.exitCode ?? 0);
  }
  if (!values.checkpoint) throw new CliError(`charlm ${command} needs --checkpoint <run folder or file>`);
  if (command === 'sample') {
    await runSample({
      checkpoint: values.checkpoint as string,
      prompt: (values.prompt as string | undefined) ?? '',
      tokens: num(values, 'tokens', 300, 'int'),
      temperature: num(values, 'temperature', 0.8, 'number'),
      topK: num(values, 'top-k', 0, 'int'),
      topP: topP(values),
      seed: num(values, 'seed', 0, 'int'),
      backend,
      cache: !values['no-cache'],
      log: (line) => console.error(line),
      write: (text) => process.stdout.write(text),
    });
    return 0;
  }
  await runEval({
    checkpoint: values.checkpoint as string,
    data: values.data as string | undefined,
    batches: num(values, 'batches', 200, 'posint'),
    batchSize: num(values, 'batch-size', 12, 'posint'),
    backend,
    log,
  });
  return 0;
}

const USER_ERRORS = [CliError, DataError, ConfigError, CheckpointError, SamplingError, TensorError];

/** Runs the CLI: user errors print one clear message (no stack trace) and exit 1. */
export async function run(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    if (USER_ERRORS.some((cls) => e instanceof cls)) {
      console.error(`charlm: ${(e as Error).message}`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

const invokedDirectly =
  process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!);
if (invokedDirectly) await run(process.argv.slice(2));
