import type { DecoderLM } from '@tinyformer/model';
import { tensor } from '@tinyformer/tensor';
import { CliError } from './errors.js';

/*
 * Fault injection, FOR TESTS ONLY (apps/charlm/test/faults.test.ts; listed in RELIABILITY.md). These variables are
 * unset in normal use, and then nothing here does anything.
 *
 *   TINYFORMER_FAULT_NAN_AT_STEP=<n>[:<parameter>]   at training step n (1-based, as in the logs and metrics.jsonl),
 *       seed the gradient of one parameter (default: the last block's attn.proj.weight) with NaN before backward, so
 *       the loss stays finite and only that gradient goes bad: what an overflow in a backward kernel looks like.
 *   TINYFORMER_FAULT_FREE_BYTES=<bytes>   pretend the run folder's filesystem has this many bytes free (disk full).
 *   TINYFORMER_FAULT_METRICS_ENOSPC_AT_STEP=<n>   the metrics line of step n is half written, then ENOSPC.
 *   TINYFORMER_FAULT_SLOW_FROM_STEP=<n>:<ms>   from step n on, each step first waits ms milliseconds with the event
 *       loop free: a step long enough for a test to land a second signal inside it on any machine.
 */

/** Returns a function to call before each training step's first micro-batch, or null when no fault is asked for. */
export function nanGradientFault(model: DecoderLM, env = process.env): ((step: number) => void) | null {
  const spec = env.TINYFORMER_FAULT_NAN_AT_STEP;
  if (!spec) return null;
  const [rawStep, rawName] = spec.split(':');
  const at = Number(rawStep);
  const name = rawName ?? `blocks.${model.config.nLayers - 1}.attn.proj.weight`;
  const param = model.namedParameters().find(([n]) => n === name)?.[1];
  if (!Number.isInteger(at) || at < 1 || !param) {
    throw new CliError(`TINYFORMER_FAULT_NAN_AT_STEP=${spec}: expected <step >= 1>[:<parameter name>]`);
  }
  return (step) => {
    if (step !== at) return;
    // backward adds into an existing .grad, so this NaN survives into the step's gradient
    param.grad?.dispose();
    param.grad = tensor(new Float32Array(param.size).fill(Number.NaN), param.shape, {
      backend: param.backend,
    }).keep();
  };
}

/** The free bytes that TINYFORMER_FAULT_FREE_BYTES pretends, or undefined. */
export function fakeFreeBytes(env = process.env): number | undefined {
  const raw = env.TINYFORMER_FAULT_FREE_BYTES;
  return raw === undefined || raw === '' ? undefined : Number(raw);
}

/** The step whose metrics line TINYFORMER_FAULT_METRICS_ENOSPC_AT_STEP fails (disk full mid-line), or undefined. */
export function metricsFaultAt(env = process.env): number | undefined {
  const raw = env.TINYFORMER_FAULT_METRICS_ENOSPC_AT_STEP;
  return raw === undefined || raw === '' ? undefined : Number(raw);
}

/** Returns the wait TINYFORMER_FAULT_SLOW_FROM_STEP asks before each step, or null when it is unset. */
export function slowStepFault(env = process.env): ((step: number) => Promise<void>) | null {
  const spec = env.TINYFORMER_FAULT_SLOW_FROM_STEP;
  if (!spec) return null;
  const [from, ms] = spec.split(':').map(Number);
  if (!Number.isInteger(from) || from! < 1 || !Number.isFinite(ms) || ms! < 0) {
    throw new CliError(`TINYFORMER_FAULT_SLOW_FROM_STEP=${spec}: expected <step >= 1>:<milliseconds>`);
  }
  return async (step) => {
    if (step >= from!) await new Promise((resolve) => setTimeout(resolve, ms));
  };
}
