import { CharVocab, DataError } from '@tinyformer/data';
import type { TrainMeta } from '@tinyformer/recipe';
import { CliError } from './errors.js';

const isInt = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isNum = (v: unknown, min: number, max = Number.POSITIVE_INFINITY, openMax = false): v is number =>
  typeof v === 'number' && Number.isFinite(v) && v >= min && (openMax ? v < max : v <= max);

/** Each TrainSettings number, the check it must pass, and what the check means. */
const SETTINGS: [key: string, ok: (v: unknown) => boolean, want: string][] = [
  ['batchSize', (v) => isInt(v, 1, 4096), 'an integer in [1, 4096]'],
  ['iters', (v) => isInt(v, 1, 10_000_000), 'an integer in [1, 10,000,000]'],
  ['lr', (v) => isNum(v, Number.MIN_VALUE), 'a positive number'],
  ['minLr', (v) => isNum(v, 0), 'a number >= 0'],
  ['warmup', (v) => isInt(v, 0), 'an integer >= 0'],
  ['weightDecay', (v) => isNum(v, 0), 'a number >= 0'],
  ['beta1', (v) => isNum(v, 0, 1, true), 'a number in [0, 1)'],
  ['beta2', (v) => isNum(v, 0, 1, true), 'a number in [0, 1)'],
  ['gradClip', (v) => isNum(v, 0), 'a number >= 0'],
  ['gradAccumulation', (v) => isInt(v, 1, 1024), 'an integer in [1, 1024]'],
  ['evalEvery', (v) => isInt(v, 1), 'a positive integer'],
  ['evalIters', (v) => isInt(v, 1, 100_000), 'an integer in [1, 100,000]'],
  ['checkpointEvery', (v) => isInt(v, 1), 'a positive integer'],
  ['sampleTokens', (v) => isInt(v, 0, 1_000_000), 'an integer in [0, 1,000,000]'],
];

/**
 * Validates what `charlm train --resume` reads from a checkpoint's metadata before any of it is used, so damaged
 * metadata gives one named error instead of a stack trace, a run that trains nothing, or a sampler stuck on one
 * batch. (The model config and the tensors were already checked against each other by the checkpoint loader.)
 */
export function checkTrainMeta(meta: Record<string, unknown>, file: string): TrainMeta {
  const bad = (field: string, want: string, got: unknown) =>
    new CliError(
      `--resume: ${file} has damaged metadata: ${field} must be ${want}, got ${JSON.stringify(got)?.slice(0, 80)}`,
    );
  if (meta.kind !== 'charlm') throw new CliError(`--resume: ${file} was not written by charlm train`);
  try {
    CharVocab.fromJSON(meta.vocab);
  } catch (e) {
    if (e instanceof DataError) throw new CliError(`--resume: ${file} has damaged metadata: ${e.message}`);
    throw e;
  }
  if (!isInt(meta.step, 0)) throw bad('step', 'an integer >= 0', meta.step);
  if (!isInt(meta.seed, Number.MIN_SAFE_INTEGER)) throw bad('seed', 'an integer', meta.seed);
  const st = meta.samplerState;
  if (!Array.isArray(st) || st.length !== 4 || !st.every((w) => isInt(w, 0, 0xffffffff)) || st.every((w) => w === 0)) {
    throw bad('samplerState', 'four uint32 words, not all zero', st);
  }
  if (meta.bestVal !== null && !isNum(meta.bestVal, 0))
    throw bad('bestVal', 'null or a finite number >= 0', meta.bestVal);
  const d = meta.data as Record<string, unknown> | null;
  if (
    typeof d !== 'object' ||
    d === null ||
    typeof d.source !== 'string' ||
    typeof d.hash !== 'string' ||
    !isInt(d.length, 1)
  ) {
    throw bad('data', '{ source, length, hash }', d);
  }
  const s = meta.settings as Record<string, unknown> | null;
  if (typeof s !== 'object' || s === null || typeof s.model !== 'object' || s.model === null) {
    throw bad('settings', 'an object with the recipe and its model', s);
  }
  for (const [key, ok, want] of SETTINGS) if (!ok(s[key])) throw bad(`settings.${key}`, want, s[key]);
  if ((s.minLr as number) > (s.lr as number)) throw bad('settings.minLr', `at most settings.lr = ${s.lr}`, s.minLr);
  return meta as TrainMeta;
}
