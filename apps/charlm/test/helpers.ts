import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { inject } from 'vitest';
import { run } from '../src/cli.js';

export { CHARLM } from './paths.js';

/** The compiled CLI that global-setup.ts built for this run. */
export function cliPath(): string {
  return inject('charlmCli');
}

/** A small model and batch, so a run takes about a second. */
export const SMALL = ['--context', '16', '--d-model', '32', '--layers', '2', '--heads', '2', '--batch-size', '4'];

/** The training corpus of the CLI tests: no newline in it, 28 distinct characters. */
export const CORPUS_TEXT = 'the quick brown fox jumps over the lazy dog. a tiny model learns tiny things. '.repeat(40);

export interface CliResult {
  /** process exit code */
  code: number;
  /** console.log and process.stdout */
  out: string;
  /** console.error and process.stderr */
  err: string;
}

/**
 * Runs the CLI in this process through run() (the wrapper `charlm` uses: user errors print `charlm: <message>`,
 * no stack, exit code 1), capturing what the user would see. `dir` is replaced by <tmp> in the output.
 */
export async function runCli(
  args: string[],
  opts: { dir?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { log: console.log, error: console.error, out: process.stdout.write, err: process.stderr.write };
  const savedEnv: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  console.log = (...a: unknown[]) => out.push(`${a.join(' ')}\n`);
  console.error = (...a: unknown[]) => err.push(`${a.join(' ')}\n`);
  process.stdout.write = ((s: string) => out.push(String(s)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => err.push(String(s)) > 0) as typeof process.stderr.write;
  let code: number;
  try {
    process.exitCode = undefined;
    await run(args);
    code = Number(process.exitCode ?? 0);
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exitCode = undefined;
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const clean = (s: string) => (opts.dir ? s.replaceAll(opts.dir, '<tmp>') : s);
  return { code, out: clean(out.join('')), err: clean(err.join('')) };
}

/** The CLI as a child process (`node .cache/test-dist/cli.js ...`), as a user runs it. */
export function spawnCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cliPath(), ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}
