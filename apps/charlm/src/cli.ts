#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { DataError } from '@tinyformer/data';
import { HfInteropError } from '@tinyformer/hf';
import { CheckpointError, ConfigError, SamplingError } from '@tinyformer/model';
import { TensorError } from '@tinyformer/tensor';
import type { BackendPreference } from './backend.js';
import { CliError } from './errors.js';
import { runEval } from './eval.js';
import { runExport } from './export.js';
import { parseFlags } from './flag-values.js';
import { COMMANDS, type Command } from './flags.js';
import { commandHelp, mainHelp } from './help.js';
import { watchOutput } from './output.js';
import { loadPlugins } from './plugins.js';
import { runPaths } from './run-folder.js';
import { runSample } from './sample.js';
import { runTrain } from './train.js';
import { trainSettings } from './train-settings.js';

/** runs/<preset>, or the first runs/<preset>-N without a checkpoint, so a second `pnpm train` never overwrites the first. */
function defaultRunFolder(preset: string, resume: boolean): string {
  const base = `runs/${preset}`;
  if (resume) return base;
  for (let i = 1; ; i++) {
    const dir = i === 1 ? base : `${base}-${i}`;
    if (!existsSync(runPaths(dir).checkpoint)) return dir;
  }
}

/** How the CLI runs: the `charlm` binary and `pnpm charlm` watch signals; in-process callers (tests) need not. */
export interface CliOptions {
  /** start the Ctrl-C watcher process beside a training run (src/signal-watcher.ts) */
  watchSignals?: boolean;
}

export async function main(argv: string[], cli: CliOptions = {}): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(mainHelp());
    return command ? 0 : 1;
  }
  if (!(command in COMMANDS))
    throw new CliError(`unknown command ${JSON.stringify(command)}; commands: ${Object.keys(COMMANDS).join(', ')}`);
  const flags = parseFlags(command as Command, rest);
  if (flags.bool('help')) {
    console.log(commandHelp(command as Command));
    return 0;
  }
  const log = (line: string) => console.log(line);
  // before anything reads a config: a plugin may register the norm kind a run or checkpoint names
  for (const p of await loadPlugins(flags.list('plugin'))) {
    log(`plugin ${p.path}: ${p.kinds.map((k) => k.kind).join(', ')}`);
  }
  // export runs no model: it has no --backend
  const backend = () => flags.choice<BackendPreference>('backend');
  if (command === 'train') {
    const { preset, settings } = trainSettings(flags);
    // a run's exit code is its own (in-process callers may have left one behind)
    process.exitCode = undefined;
    await runTrain({
      settings,
      settingsFor: (checkpointSettings) => trainSettings(flags, checkpointSettings).settings,
      data: flags.text('data'),
      out: flags.text('out') ?? defaultRunFolder(preset, flags.bool('resume')),
      force: flags.bool('force'),
      backend: backend(),
      seed: flags.number('seed'),
      resume: flags.bool('resume'),
      onNonFinite: flags.choice<'throw' | 'skip'>('on-nan'),
      finalEvalIters: flags.number('final-eval-iters'),
      probe: flags.bool('probe'),
      stopAt: flags.optionalNumber('stop-at'),
      watchSignals: cli.watchSignals === true,
      log,
    });
    return Number(process.exitCode ?? 0);
  }
  const checkpoint = flags.text('checkpoint');
  if (!checkpoint) throw new CliError(`charlm ${command} needs --checkpoint <run folder or file>`);
  if (command === 'export') {
    const out = flags.text('out');
    if (!out) throw new CliError('charlm export needs --out <dir>');
    runExport({ checkpoint, format: flags.choice<'hf'>('format'), out, force: flags.bool('force'), log });
    return 0;
  }
  if (command === 'sample') {
    const topP = flags.number('top-p');
    if (!(topP > 0 && topP <= 1)) throw new CliError(`--top-p must be in (0, 1] (1 = off), got ${flags.raw['top-p']}`);
    process.exitCode = undefined;
    await runSample({
      checkpoint,
      prompt: flags.text('prompt') ?? '',
      tokens: flags.number('tokens'),
      temperature: flags.number('temperature'),
      topK: flags.number('top-k'),
      topP,
      seed: flags.number('seed'),
      backend: backend(),
      cache: !flags.bool('no-cache'),
      log: (line) => console.error(line),
      write: (text) => process.stdout.write(text),
    });
    // 141 when stdout's reader went away mid-sample
    return Number(process.exitCode ?? 0);
  }
  await runEval({
    checkpoint,
    data: flags.text('data'),
    batches: flags.number('batches'),
    batchSize: flags.number('batch-size'),
    backend: backend(),
    log,
  });
  return 0;
}

const USER_ERRORS = [CliError, DataError, ConfigError, CheckpointError, SamplingError, TensorError, HfInteropError];

/** Runs the CLI: user errors print one clear message (no stack trace) and exit 1. */
export async function run(argv: string[], cli: CliOptions = {}): Promise<void> {
  watchOutput();
  try {
    process.exitCode = await main(argv, cli);
  } catch (e) {
    if (USER_ERRORS.some((cls) => e instanceof cls)) {
      const message = (e as Error).message;
      // a run trained with a plugin's norm kind names it in its config; loading it needs the plugin again
      const hint = /norm\.kind: must be one of/.test(message)
        ? '\n(a norm kind that a plugin registers is known only with --plugin <path>, e.g. --plugin examples/custom-norm)'
        : '';
      console.error(`charlm: ${message}${hint}`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

const invokedDirectly =
  process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!);
if (invokedDirectly) await run(process.argv.slice(2), { watchSignals: true });
