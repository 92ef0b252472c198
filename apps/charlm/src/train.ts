import { existsSync, rmSync } from 'node:fs';
import { noGrad } from '@tinyformer/autograd';
import { CharVocab } from '@tinyformer/data';
import { loadBrownText, readTextFile } from '@tinyformer/data/node';
import {
  ActivationProbe,
  type AdamWState,
  CheckpointError,
  checkOptimizerState,
  type DecoderLM,
  gradNorms,
  NonFiniteError,
  type ParamGradNorm,
  type TrainStepOptions,
} from '@tinyformer/model';
import { loadCheckpoint, writeFileAtomic } from '@tinyformer/model/node';
import {
  bitsPerChar,
  checkpointBytes,
  DEFAULT_CORPUS_SOURCE,
  evalSample,
  meanLoss,
  setupRun,
  type TrainMeta,
  type TrainSettings,
  textHash,
  trainLoop,
} from '@tinyformer/recipe';
import { setBackend, tensor, tidy } from '@tinyformer/tensor';
import { type BackendPreference, chooseBackend } from './backend.js';
import { CliError } from './errors.js';
import { nanGradientFault, slowStepFault } from './faults.js';
import { EXIT_PIPE_CLOSED, onStdoutClosed } from './output.js';
import { Progress } from './progress.js';
import {
  appendMetrics,
  ensureRunFolder,
  prepareRunFolder,
  runPaths,
  truncateMetrics,
  writeLossChart,
} from './run-folder.js';
import { lockRunFolder } from './run-lock.js';
import { recipeChanges } from './settings-diff.js';
import { finishingMessage, startSignalWatcher } from './signal-watcher.js';
import { checkTrainMeta } from './train-meta.js';

export interface TrainOptions {
  settings: TrainSettings;
  /** text file, or undefined for the embedded Brown corpus */
  data?: string;
  out: string;
  backend: BackendPreference;
  seed: number;
  resume: boolean;
  /** NaN/Inf in loss or gradients: stop (default) or skip the step */
  onNonFinite: 'throw' | 'skip';
  /** validation batches for the final loss (at least 200) */
  finalEvalIters: number;
  /** record per-layer activation RMS and per-parameter gradient norms in metrics.jsonl at each eval */
  probe: boolean;
  /** overwrite a run already in `out` (otherwise refused, so a finished run is never lost by accident) */
  force?: boolean;
  /** stop with a checkpoint after this many steps, as if interrupted (train a long run in chunks) */
  stopAt?: number;
  /**
   * Start a signal watcher process beside the run (src/signal-watcher.ts) so Ctrl-C is acknowledged at once and a
   * second Ctrl-C ends the run at once even in the middle of a long step. The `charlm` binary sets it.
   */
  watchSignals?: boolean;
  /**
   * On --resume: the settings the command line asks for, applied over the checkpoint's. A change to the recipe is
   * refused; --iters and the eval/checkpoint cadence may change. Without it, only `settings.iters` is taken.
   */
  settingsFor?: (checkpointSettings: TrainSettings) => TrainSettings;
  log: (line: string) => void;
}

export async function runTrain(o: TrainOptions): Promise<{ finalVal: number; out: string }> {
  // one run per folder: a second training into the same --out fails here, before anything else, naming the running one
  const release = lockRunFolder(ensureRunFolder(o.out));
  try {
    const chosen = await chooseBackend(o.backend);
    o.log(`backend: ${chosen.reason}`);
    setBackend(chosen.backend);
    try {
      return await trainLocked(o, chosen.reason);
    } finally {
      await chosen.dispose();
    }
  } finally {
    release();
  }
}

async function trainLocked(o: TrainOptions, backendReason: string): Promise<{ finalVal: number; out: string }> {
  const paths = runPaths(o.out);
  const source = o.data ?? DEFAULT_CORPUS_SOURCE;
  const text = o.data ? readTextFile(o.data) : loadBrownText();
  let settings = o.settings;
  let resumed: (ReturnType<typeof loadCheckpoint> & { meta: TrainMeta }) | null = null;
  if (!o.resume && !o.force && existsSync(paths.checkpoint)) {
    throw new CliError(
      `${o.out} already holds a run (${paths.checkpoint}): pass --resume to continue it, --force to overwrite it, or --out <new folder>`,
    );
  }
  if (o.resume) {
    if (!existsSync(paths.checkpoint)) {
      throw new CliError(`--resume: no checkpoint at ${paths.checkpoint}; start a new run without --resume`);
    }
    const loaded = loadCheckpoint(paths.checkpoint);
    resumed = { ...loaded, meta: checkTrainMeta(loaded.meta, paths.checkpoint) };
    const meta = resumed.meta;
    if (meta.data.hash !== textHash(text) || meta.data.length !== text.length) {
      throw new CliError(
        `--resume: the checkpoint was trained on ${meta.data.source} (${meta.data.length} chars), not on this data (${source}, ${text.length} chars)`,
      );
    }
    // the recipe comes from the checkpoint; only the total number of iterations may be extended
    settings = { ...meta.settings, iters: o.settings.iters };
    if (o.settingsFor) {
      // flags given again on resume must agree with the checkpoint's recipe, or they would be silently ignored
      const asked = o.settingsFor(meta.settings);
      const changed = recipeChanges(meta.settings, asked);
      if (changed.length > 0) {
        throw new CliError(
          `--resume continues the checkpoint's recipe, but the flags change it: ${changed.join(', ')}; ` +
            'drop those flags, or start a new run in another --out folder',
        );
      }
      settings = { ...asked };
    }
    if (settings.iters < meta.step)
      throw new CliError(`--resume: --iters ${settings.iters} is below the checkpoint's step ${meta.step}`);
  }
  // the vocabulary, split, model init and sampler seed of every charlm run (and of the playground's)
  const run = setupRun({
    text,
    settings,
    seed: o.seed,
    source,
    vocab: resumed ? CharVocab.fromJSON(resumed.meta.vocab) : undefined,
    model: resumed?.model,
    onNonFinite: o.onNonFinite,
  });
  const { vocab, dataset, config, model, trainer, sampler } = run;
  const ckptBytes = model.parameterCount() * 4 * 3 + 1_000_000;
  prepareRunFolder(o.out, ckptBytes);
  writeFileAtomic(paths.backend, `${backendReason}\n`);

  const B = settings.batchSize;
  const T = config.contextLength;
  let bestVal: number | null = null;
  if (resumed) {
    const meta = resumed.meta;
    if (!resumed.optimizer) throw new CliError(`--resume: ${paths.checkpoint} has no optimizer state`);
    checkOptimizerState(model, resumed.optimizer, paths.checkpoint);
    trainer.optimizer.loadState(resumed.optimizer as AdamWState);
    trainer.step = meta.step;
    sampler.setState(meta.samplerState);
    bestVal = meta.bestVal;
    truncateMetrics(paths, meta.step, o.log);
    o.log(`resuming ${o.out} at step ${meta.step} of ${settings.iters}`);
  } else {
    // --force replaces the old run completely: none of its files may mix with the new run's
    if (o.force) {
      const old = [paths.checkpoint, paths.best, paths.metrics, paths.chart, paths.config].filter((f) => existsSync(f));
      for (const f of old) rmSync(f, { force: true });
      if (old.length > 0) o.log(`--force: removed the previous run in ${o.out} (${old.length} files)`);
    }
    truncateMetrics(paths, 0);
  }
  writeFileAtomic(
    paths.config,
    `${JSON.stringify({ model: config, training: settings, seed: o.seed, data: source, backend: backendReason }, null, 2)}\n`,
  );
  o.log(
    `model: ${(model.parameterCount() / 1e6).toFixed(2)}M parameters, ${config.nLayers} layers x ${config.dModel} wide, ` +
      `${config.norm.placement}-norm ${config.norm.kind}, ${config.ffn.kind}, ${config.positional} positions; ` +
      `vocab ${vocab.size}; data ${source}: ${dataset.train.length.toLocaleString('en-US')} train / ${dataset.val.length.toLocaleString('en-US')} val chars`,
  );
  o.log(`run folder: ${o.out}`);

  const save = async (file: string) => {
    let bytes: Uint8Array;
    try {
      bytes = await checkpointBytes(model, trainer.optimizer, run.meta(bestVal));
    } catch (e) {
      // encodeCheckpoint refuses NaN/Inf weights: a file on disk is always one to resume or sample from
      if (!(e instanceof CheckpointError)) throw e;
      const kept = existsSync(file) ? `the last good ${file} is unchanged` : `no ${file} had been written yet`;
      throw new CliError(
        `step ${trainer.step}: the weights are no longer finite (${e.message.replace(/^checkpoint not written: /, '').replace(/ \(the model diverged.*$/, '')}), so no checkpoint was written; ${kept}. Lower --lr`,
      );
    }
    try {
      writeFileAtomic(file, bytes);
    } catch (e) {
      // a full disk, a folder gone read-only: the atomic write left the previous file as it was
      if (!(e as NodeJS.ErrnoException).code) throw e;
      throw new CliError(`cannot write ${file}: ${(e as Error).message}; the previous version of it is intact`);
    }
  };
  const fault = nanGradientFault(model);
  const slow = slowStepFault();

  // Ctrl-C / SIGTERM: finish the step, checkpoint, exit with a resume hint. The handler removes itself, so a second
  // Ctrl-C gets the default action and ends the process at once, even in the middle of a step or a checkpoint write:
  // writes are atomic (temp file + rename), so the last good checkpoint survives that too.
  let stopSignal: NodeJS.Signals | 'stop-at' | 'EPIPE' | null = null;
  // with a watcher, a terminal's Ctrl-C reaches it too, and it has already said this (at once, not after the step)
  const watcher = o.watchSignals ? await startSignalWatcher() : null;
  const onSignal = (sig: NodeJS.Signals) => {
    stopSignal = sig;
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    const say = () => {
      if (watcher?.saw(sig)) return; // a Ctrl-C to the process group: the watcher announced it already
      process.stderr.write(finishingMessage(sig));
    };
    // the watcher's report of the same signal arrives in the same turn of the event loop (its pipe was written
    // long before the step ended): read it first
    if (watcher) setImmediate(say);
    else say();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  // stdout's reader went away (`| head`): stop like a signal, quietly
  const offPipe = onStdoutClosed(() => {
    stopSignal ??= 'EPIPE';
  });

  const progress = new Progress(settings.iters);
  const tokensPerStep = B * T * settings.gradAccumulation;
  let emaTime = 0;
  const sampleText = (seed: number, shouldStop?: () => boolean) =>
    evalSample(model, vocab, settings.sampleTokens, seed, shouldStop);
  let stopped: { stopped: boolean };
  try {
    let grads: ParamGradNorm[] | undefined;
    const isEval = (step: number) => step % settings.evalEvery === 0 && step < settings.iters;
    stopped = await trainLoop({
      trainer,
      sampler,
      until: settings.iters,
      beforeStep: async (step) => {
        // let a pending Ctrl-C or SIGTERM run its handler: a CPU step never waits on I/O, so without this turn of the
        // event loop the signal would only be seen after the last step
        await new Promise<void>((resolve) => setImmediate(resolve));
        await slow?.(step);
        fault?.(step);
      },
      // gradient norms only on the steps that log them: the hook is read before the update clears the gradients
      stepOptions: (step): TrainStepOptions => {
        grads = undefined;
        if (!(o.probe && isEval(step))) return {};
        return {
          onGradients: async (m, { gradAccumulation }) => {
            grads = await gradNorms(m, { scale: 1 / gradAccumulation });
          },
        };
      },
      afterStep: async ({ step, result: r, ms }) => {
        const dt = ms / 1000;
        emaTime = emaTime === 0 ? dt : 0.9 * emaTime + 0.1 * dt;
        const tps = tokensPerStep / dt;
        progress.update(step, r.loss, tokensPerStep / emaTime, emaTime * (settings.iters - step));
        const line: Record<string, unknown> = {
          step,
          loss: r.loss,
          lr: r.lr,
          tokens_per_s: tps,
          grad_norm: r.gradNorm,
          // the backend's live buffers after the step: flat over a healthy run, on every backend
          live_buffers: trainer.backend.memory().buffers,
        };
        if (r.skipped) {
          line.skipped = true;
          progress.break();
          o.log(
            `step ${step}: skipped (--on-nan skip): loss ${r.loss.toFixed(4)}, gradient norm ${r.gradNorm.toFixed(4)}; the weights are unchanged`,
          );
        }
        // a signal during an evaluation ends it at once: the run stops with a checkpoint, without this eval
        const stopping = () => stopSignal !== null;
        if (isEval(step) && !stopping()) {
          const val = await meanLoss(model, dataset.val, B, T, settings.evalIters, { shouldStop: stopping });
          if (!stopping()) {
            line.val_loss = val;
            progress.break();
            o.log(
              `step ${step}: train ${r.loss.toFixed(4)}, val ${val.toFixed(4)} (${bitsPerChar(val).toFixed(3)} bits/char)`,
            );
            o.log(`--- sample ---\n${await sampleText(step, stopping)}\n--------------`);
            if (bestVal === null || val < bestVal) {
              bestVal = val;
              await save(paths.best);
            }
            if (o.probe) {
              line.activations = await probeActivations(model, dataset.val, B, T);
              if (grads) line.grad_norms = grads;
            }
          }
        }
        appendMetrics(paths, line as { step: number });
        if (o.stopAt !== undefined && step >= o.stopAt && step < settings.iters) stopSignal ??= 'stop-at';
        if (step % settings.checkpointEvery === 0 || stopSignal) {
          await save(paths.checkpoint);
          writeLossChart(paths, `charlm ${o.out}`);
        }
        return stopSignal !== null;
      },
    });
  } catch (e) {
    if (!(e instanceof NonFiniteError)) throw e;
    progress.break();
    const kept = existsSync(paths.checkpoint)
      ? `The last good checkpoint (${paths.checkpoint}) is unchanged`
      : 'No checkpoint had been written yet';
    // the Trainer counts steps from 0; the logs and metrics.jsonl from 1
    throw new CliError(
      `${e.message.replace(/^step \d+:/, `step ${e.step + 1}:`)}. ${kept}; lower --lr or pass --on-nan skip`,
    );
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    offPipe();
    watcher?.stop();
  }
  if (stopped.stopped && stopSignal === 'EPIPE') {
    // the checkpoint is written (afterStep saved it); nobody reads the output any more
    process.exitCode = EXIT_PIPE_CLOSED;
    return { finalVal: Number.NaN, out: o.out };
  }
  if (stopped.stopped) {
    progress.break();
    o.log(
      `stopped (${stopSignal === 'stop-at' ? '--stop-at' : stopSignal}) at step ${trainer.step}; checkpoint written to ${paths.checkpoint}`,
    );
    o.log(
      `resume with: charlm train --out ${o.out} --resume${o.data ? ` --data ${o.data}` : ''} --iters ${settings.iters}`,
    );
    if (stopSignal !== 'stop-at' && stopSignal !== null) process.exitCode = SIGNAL_EXIT_CODES[stopSignal] ?? 130;
    return { finalVal: Number.NaN, out: o.out };
  }
  progress.break();
  await save(paths.checkpoint);
  const finalIters = Math.max(200, o.finalEvalIters);
  const finalVal = await meanLoss(model, dataset.val, B, T, finalIters);
  if (bestVal === null || finalVal < bestVal) {
    bestVal = finalVal;
    await save(paths.best);
  }
  appendMetrics(paths, { step: trainer.step, val_loss: finalVal, final: true, val_batches: finalIters });
  writeLossChart(paths, `charlm ${o.out}`);
  o.log(
    `done: ${trainer.step} steps; final val loss ${finalVal.toFixed(4)} (${bitsPerChar(finalVal).toFixed(3)} bits/char) over ${finalIters} batches`,
  );
  o.log(`--- samples ---\n${await sampleText(1)}\n---\n${await sampleText(2)}\n---------------`);
  o.log(`wrote ${paths.checkpoint}, ${paths.best}, ${paths.metrics}, ${paths.chart}, ${paths.config}`);
  return { finalVal, out: o.out };
}

/** Per-layer RMS of the residual stream and the norm outputs on one validation batch (--probe). */
async function probeActivations(model: DecoderLM, val: Int32Array, B: number, T: number) {
  const probe = new ActivationProbe();
  const n = Math.min(val.length - 1, B * T);
  const ids = Int32Array.from(val.subarray(0, Math.floor(n / T) * T));
  noGrad(() => tidy(() => model.forward(tensor(ids, [ids.length / T, T], { dtype: 'int32' }), { probe })));
  return probe.read();
}

export type { TrainMeta };

/** The signals that stop a run after a checkpoint: Ctrl-C, kill, a closed terminal. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** 128 + the signal's number, as a shell reports a process that signal ended. */
const SIGNAL_EXIT_CODES: Partial<Record<string, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
