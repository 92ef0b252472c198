import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@tinyformer/model/node';
import { lineChartSvg } from './chart.js';
import { CliError } from './errors.js';
import { fakeFreeBytes, metricsFaultAt } from './faults.js';

/** The files of a run folder; `sample`, `eval` and `--resume` read `checkpoint`. */
export function runPaths(dir: string) {
  return {
    dir,
    checkpoint: join(dir, 'checkpoint.safetensors'),
    best: join(dir, 'best.safetensors'),
    config: join(dir, 'config.json'),
    metrics: join(dir, 'metrics.jsonl'),
    chart: join(dir, 'loss.svg'),
    backend: join(dir, 'backend.txt'),
  };
}

export type RunPaths = ReturnType<typeof runPaths>;

export interface PrepareRunFolderOptions {
  /** statfs of the folder (tests inject a full disk); default node:fs statfsSync, or TINYFORMER_FAULT_FREE_BYTES */
  statfs?: (dir: string) => { bavail: number; bsize: number };
}

/**
 * Creates the folder and proves it is writable and has room for the checkpoints before any training starts, so a
 * bad --out costs seconds, not an hour.
 */
/** Creates --out when missing (so it can be locked before anything else); a path that is not a folder is refused. */
export function ensureRunFolder(dir: string): string {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new CliError(`--out ${dir} exists and is not a folder`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CliError(`cannot create the run folder ${dir}: ${(e as Error).message}`);
  }
  return dir;
}

export function prepareRunFolder(dir: string, checkpointBytes: number, opts: PrepareRunFolderOptions = {}): RunPaths {
  ensureRunFolder(dir);
  try {
    accessSync(dir, constants.W_OK);
    writeFileAtomic(join(dir, '.write-test'), 'ok');
    rmSync(join(dir, '.write-test'));
  } catch (e) {
    throw new CliError(`the run folder ${dir} is not writable: ${(e as Error).message}`);
  }
  const paths = runPaths(dir);
  for (const f of [paths.checkpoint, paths.best]) {
    if (existsSync(f) && !statSync(f).isFile()) throw new CliError(`${f} exists and is not a file: move it away`);
  }
  // one temp copy during an atomic write, plus latest and best where they do not exist yet, plus slack for metrics
  const missing = [paths.checkpoint, paths.best].filter((f) => !existsSync(f)).length;
  const needed = (1 + missing) * checkpointBytes + 16 * 1024 * 1024;
  const fake = fakeFreeBytes();
  const statfs =
    opts.statfs ?? (fake === undefined ? (d: string) => statfsSync(d) : () => ({ bavail: fake, bsize: 1 }));
  let free: number;
  try {
    const fs = statfs(dir);
    free = fs.bavail * fs.bsize;
  } catch {
    // statfs unsupported here: the atomic writes still protect the last good checkpoint
    return paths;
  }
  if (free < needed) {
    throw new CliError(
      `the run folder ${dir} has ${(free / 1e6).toFixed(1)} MB free but the checkpoints need about ` +
        `${(needed / 1e6).toFixed(1)} MB: free some space or pass --out on another disk`,
    );
  }
  return paths;
}

export interface MetricsLine {
  step: number;
  loss?: number;
  lr?: number;
  tokens_per_s?: number;
  val_loss?: number;
  final?: boolean;
  [k: string]: unknown;
}

/**
 * Appends one metrics line whole or not at all: a failed or short write (a full disk) is cut back to the file's
 * previous length, and the error names the file. TINYFORMER_FAULT_METRICS_ENOSPC_AT_STEP injects that failure.
 */
export function appendMetrics(paths: RunPaths, line: MetricsLine): void {
  const bytes = Buffer.from(`${JSON.stringify(line)}\n`);
  const fd = openSync(paths.metrics, 'a');
  const before = fstatSync(fd).size;
  try {
    const injected = metricsFaultAt();
    if (injected !== undefined && line.step === injected) {
      // what a full disk does mid-line: part of it lands, then ENOSPC
      writeSync(fd, bytes, 0, Math.floor(bytes.length / 2));
      throw Object.assign(new Error('ENOSPC: no space left on device, write (injected)'), { code: 'ENOSPC' });
    }
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
  } catch (e) {
    try {
      ftruncateSync(fd, before);
    } catch {
      // the cut failed too: readMetrics drops a torn last line on --resume
    }
    throw new CliError(
      `cannot append to ${paths.metrics}: ${(e as Error).message}; the line for step ${line.step} was not written ` +
        '(the file holds only whole lines, and the last checkpoint is intact)',
    );
  } finally {
    closeSync(fd);
  }
}

/**
 * The metrics lines. A last line that is not valid JSON (torn by a crash or a full disk in an older version) is
 * dropped and reported to `onTorn`; a bad line anywhere else is an error naming its line number.
 */
export function readMetrics(paths: RunPaths, onTorn?: (message: string) => void): MetricsLine[] {
  if (!existsSync(paths.metrics)) return [];
  const raw = readFileSync(paths.metrics, 'utf8').split('\n');
  const lines = raw.map((l, i) => [l, i + 1] as const).filter(([l]) => l.trim());
  const out: MetricsLine[] = [];
  for (const [k, [text, lineNo]] of lines.entries()) {
    try {
      out.push(JSON.parse(text) as MetricsLine);
    } catch {
      if (k === lines.length - 1) {
        onTorn?.(`warning: ${paths.metrics} line ${lineNo} is torn (${JSON.stringify(text.slice(0, 40))}...): dropped`);
        break;
      }
      throw new CliError(`${paths.metrics} line ${lineNo} is not valid JSON: ${JSON.stringify(text.slice(0, 60))}`);
    }
  }
  return out;
}

/**
 * On resume, drops lines logged after the checkpoint (which holds `completed` steps), so the file reads as one
 * uninterrupted run.
 */
export function truncateMetrics(paths: RunPaths, completed: number, onTorn?: (message: string) => void): void {
  const kept = readMetrics(paths, onTorn).filter((m) => m.step <= completed && !m.final);
  writeFileAtomic(paths.metrics, kept.map((m) => `${JSON.stringify(m)}\n`).join(''));
}

export function writeLossChart(paths: RunPaths, title: string): void {
  const lines = readMetrics(paths);
  const train = lines.filter((m) => typeof m.loss === 'number').map((m) => [m.step, m.loss!] as const);
  const val = lines.filter((m) => typeof m.val_loss === 'number').map((m) => [m.step, m.val_loss!] as const);
  const svg = lineChartSvg({
    title,
    xLabel: 'step',
    yLabel: 'cross-entropy (nats/char)',
    series: [
      { name: 'train loss', points: train },
      { name: 'val loss', points: val },
    ],
  });
  writeFileAtomic(paths.chart, svg);
}
