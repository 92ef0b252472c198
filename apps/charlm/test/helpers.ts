import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

/**
 * Starts the compiled CLI as a child; collects its output; `done` resolves with how it ended. `shell` runs first
 * in bash (e.g. a ulimit); `detached` gives the child its own process group, so a test can signal the group as a
 * terminal's Ctrl-C does.
 */
export function startCli(
  args: string[],
  opts: { shell?: string; detached?: boolean; env?: Record<string, string> } = {},
) {
  const env = { ...process.env, ...opts.env };
  const child: ChildProcess = opts.shell
    ? spawn('bash', ['-c', `${opts.shell}; exec "$0" "$@"`, process.execPath, cliPath(), ...args], { env })
    : spawn(process.execPath, [cliPath(), ...args], { detached: opts.detached === true, env });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })),
  );
  return { child, done, stdout: () => out, stderr: () => err };
}

/** Resolves once `cond` holds (polled every 5 ms), or rejects after `ms`. */
export async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lines in a run folder's metrics.jsonl (0 before it exists). */
export const metricLines = (folder: string) => {
  try {
    return readFileSync(join(folder, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};
