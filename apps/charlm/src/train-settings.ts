import { ConfigError, resolveModelConfig } from '@tinyformer/model';
import { PRESETS, type PresetName, type TrainSettings } from '@tinyformer/recipe';
import { CliError } from './errors.js';
import type { FlagValues } from './flag-values.js';
import { FLAGS, type Flag, type FlagName } from './flags.js';
import { SETTING_FLAGS } from './settings-diff.js';

const SETTING_FLAG_LIST = (FLAGS as readonly Flag[]).filter((f) => f.setting && f.commands.includes('train'));

/**
 * The training settings: `base` (a preset's, or on --resume the checkpoint's) with each setting flag of the table
 * applied over it. The model part is validated here, so a bad model flag fails at once and the message names the flag.
 */
export function trainSettings(
  flags: FlagValues,
  base?: TrainSettings,
): { preset: PresetName; settings: TrainSettings } {
  const preset = flags.choice<PresetName>('preset');
  base ??= PRESETS[preset] as TrainSettings;
  if (flags.bool('final-norm') && flags.bool('no-final-norm'))
    throw new CliError('--final-norm and --no-final-norm contradict each other');
  let s: TrainSettings = base;
  for (const f of SETTING_FLAG_LIST) {
    const name = f.name as FlagName;
    if (!flags.given(name) || flags.raw[name] === false) continue;
    const value = f.type === 'boolean' ? f.sets : f.type === 'number' ? flags.number(name) : flags.text(name);
    s = withSetting(s, f.setting!, value);
  }
  for (const f of SETTING_FLAG_LIST) {
    const message = f.range?.(readSetting(s, f.setting!) as number, s);
    if (message) throw new CliError(message);
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

/** A copy of `s` with the field at `path` (dot-separated) set; the objects along the path are copied, not changed. */
function withSetting(s: TrainSettings, path: string, value: unknown): TrainSettings {
  const set = (o: Record<string, unknown> | undefined, keys: string[]): Record<string, unknown> => {
    const [k, ...rest] = keys as [string, ...string[]];
    return { ...o, [k]: rest.length === 0 ? value : set(o?.[k] as Record<string, unknown> | undefined, rest) };
  };
  return set(s as unknown as Record<string, unknown>, path.split('.')) as unknown as TrainSettings;
}

function readSetting(s: TrainSettings, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], s);
}
