import { resolveModelConfig } from '@tinyformer/model';
import type { TrainSettings } from '@tinyformer/recipe';
import { FLAGS, type Flag } from './flags.js';

/**
 * The flag that sets each training setting (model fields by their config path, as ConfigError names them), from the
 * flag table; two flags of one setting read "--final-norm / --no-final-norm".
 */
export const SETTING_FLAGS: Record<string, string> = {};
for (const f of FLAGS as readonly Flag[]) {
  if (!f.setting) continue;
  const key = f.setting.replace(/^model\./, '');
  SETTING_FLAGS[key] = SETTING_FLAGS[key] ? `${SETTING_FLAGS[key]} / --${f.name}` : `--${f.name}`;
}

/**
 * Settings that only decide when to evaluate, sample and checkpoint: they do not change the trained weights, so a
 * resumed run may change them (and --iters, which extends the run).
 */
export const CADENCE_SETTINGS: readonly string[] = (FLAGS as readonly Flag[])
  .filter((f) => f.cadence)
  .map((f) => f.setting!);

/**
 * The recipe differences between `from` (a checkpoint's settings) and `to` (what the flags ask for), as
 * "--lr 0.003 -> 0.1"; model configs are compared resolved, so `{ norm: { kind: 'rmsnorm' } }` equals `{}`.
 */
export function recipeChanges(from: TrainSettings, to: TrainSettings): string[] {
  const out: string[] = [];
  const skip = new Set<string>(CADENCE_SETTINGS);
  for (const key of Object.keys(from) as (keyof TrainSettings)[]) {
    if (key === 'model' || skip.has(key)) continue;
    if (!Object.is(from[key], to[key])) out.push(`${SETTING_FLAGS[key] ?? key} ${from[key]} -> ${to[key]}`);
  }
  const a = flatten(resolveModelConfig({ ...from.model, vocabSize: 1 }) as unknown as Record<string, unknown>);
  const b = flatten(resolveModelConfig({ ...to.model, vocabSize: 1 }) as unknown as Record<string, unknown>);
  for (const key of Object.keys(a)) {
    if (!Object.is(a[key], b[key])) out.push(`${SETTING_FLAGS[key] ?? key} ${a[key]} -> ${b[key]}`);
  }
  return out;
}

function flatten(o: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object' && !Array.isArray(v))
      Object.assign(out, flatten(v as Record<string, unknown>, `${prefix}${k}.`));
    else out[prefix + k] = v;
  }
  return out;
}
