import { parseArgs } from 'node:util';
import { CliError } from './errors.js';
import { type Command, FLAGS, type Flag, type FlagName, flagOf, flagsOf, type NumberCheck } from './flags.js';

export type RawValues = Record<string, string | boolean | string[] | undefined>;

/** node:util parseArgs options for every flag name (one type per name; the per-command check comes after). */
const PARSE_OPTIONS: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
for (const f of FLAGS as readonly Flag[]) {
  const type = f.type === 'boolean' ? 'boolean' : 'string';
  const seen = PARSE_OPTIONS[f.name];
  if (seen && seen.type !== type) throw new Error(`flag table: --${f.name} has two types`);
  PARSE_OPTIONS[f.name] = {
    type,
    ...(f.type === 'list' ? { multiple: true } : {}),
    ...(f.short ? { short: f.short } : {}),
  };
}

/** Parses the arguments of `command` and refuses flags it does not take. `--help` is checked by the caller. */
export function parseFlags(command: Command, args: string[]): FlagValues {
  const allowed = flagsOf(command).map((f) => f.name);
  let values: RawValues;
  try {
    ({ values } = parseArgs({
      args: joinNegativeValues(args),
      options: PARSE_OPTIONS,
      strict: true,
      allowPositionals: false,
    }) as { values: RawValues });
  } catch (e) {
    let message = (e as Error).message;
    const unknown = /^Unknown option '--([^']+)'/.exec(message);
    if (unknown) {
      const near = closestOption(unknown[1]!, allowed);
      message = `Unknown option '--${unknown[1]}'${near ? ` (did you mean --${near}?)` : ''}`;
    }
    throw new CliError(`${message}\n(see charlm ${command} --help)`);
  }
  if (!values.help) {
    for (const k of Object.keys(values)) {
      if (!allowed.includes(k))
        throw new CliError(`charlm ${command} does not take --${k} (see charlm ${command} --help)`);
    }
  }
  return new FlagValues(command, values);
}

/** The flags given to one command, read through the flag table: its checks, its defaults. */
export class FlagValues {
  constructor(
    readonly command: Command,
    readonly raw: RawValues,
  ) {}

  given(name: FlagName): boolean {
    return this.raw[name] !== undefined;
  }

  bool(name: FlagName): boolean {
    return Boolean(this.raw[name]);
  }

  /** A repeatable flag's values, in the order given (empty when absent). */
  list(name: FlagName): string[] {
    const v = this.raw[name];
    return Array.isArray(v) ? v : [];
  }

  text(name: FlagName): string | undefined {
    const v = this.raw[name];
    return typeof v === 'string' ? v : (flagOf(this.command, name).default as string | undefined);
  }

  /** A number flag: its value (checked), else its default, else `fallback` (train settings pass the preset's). */
  number(name: FlagName, fallback?: number): number {
    const f = flagOf(this.command, name);
    if (f.type !== 'number') throw new Error(`--${name} is not a number flag`);
    const raw = this.raw[name];
    if (raw === undefined) {
      const d = fallback ?? f.default;
      if (typeof d !== 'number') throw new Error(`--${name} has no default`);
      return d;
    }
    if (Array.isArray(raw)) throw new Error(`--${name} is not a list flag`);
    const v = checkedNumber(name, raw, f.check);
    if (f.max !== undefined && v > f.max) {
      throw new CliError(`--${name} must be at most ${f.max.toLocaleString('en-US')}, got ${JSON.stringify(raw)}`);
    }
    return v;
  }

  optionalNumber(name: FlagName): number | undefined {
    return this.given(name) ? this.number(name) : undefined;
  }

  choice<T extends string>(name: FlagName): T {
    const f = flagOf(this.command, name);
    if (f.type !== 'choice') throw new Error(`--${name} is not a choice flag`);
    const raw = this.raw[name] ?? f.default;
    if (!f.choices.includes(raw as string))
      throw new CliError(`--${name} must be one of ${f.choices.join(' | ')}, got ${JSON.stringify(raw)}`);
    return raw as T;
  }
}

const WANT: Record<NumberCheck, string> = {
  int: 'an integer >= 0',
  posint: 'a positive integer',
  number: 'a number',
  posnum: 'a positive number',
};

export function checkedNumber(name: string, raw: string | boolean, check: NumberCheck): number {
  const v = Number(raw);
  const ok =
    typeof raw === 'string' &&
    raw.trim() !== '' &&
    Number.isFinite(v) &&
    (check === 'number' ||
      (check === 'posnum' && v > 0) ||
      (check === 'int' && Number.isInteger(v) && v >= 0) ||
      (check === 'posint' && Number.isInteger(v) && v > 0));
  if (!ok) throw new CliError(`--${name} must be ${WANT[check]}, got ${JSON.stringify(raw)}`);
  return v;
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
    if (PARSE_OPTIONS[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d|Infinity)/.test(next)) {
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
