import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { processExists } from '@tinyformer/model/node';
import { CliError } from './errors.js';

/** What a run folder's lock file holds. */
interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

/**
 * Takes the run folder's exclusive lock (`<dir>/.lock`, created with O_EXCL, holding pid, host and start time), so
 * a second training into the same --out fails at once and names the running one. A lock left by a process that no
 * longer exists on this host is stale and taken over; one from another host is never guessed about. Returns the
 * release function (also run at process exit).
 */
export function lockRunFolder(dir: string): () => void {
  const file = join(dir, '.lock');
  const mine: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${JSON.stringify(mine)}\n`, { flag: 'wx' });
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        process.off('exit', release);
        try {
          // only our own lock: a stale-lock takeover by another process must not be undone
          if ((JSON.parse(readFileSync(file, 'utf8')) as LockInfo).pid === mine.pid) rmSync(file, { force: true });
        } catch {
          // already gone
        }
      };
      process.on('exit', release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new CliError(`cannot lock the run folder ${dir}: ${(e as Error).message}`);
      }
    }
    let other: LockInfo | null = null;
    try {
      other = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    } catch {
      // torn or empty: written by a process killed between create and write; treat as stale
    }
    const stale = other === null || (other.host === mine.host && !processExists(other.pid));
    if (!stale && other) {
      throw new CliError(
        `the run folder ${dir} is in use by pid ${other.pid} on ${other.host} (since ${other.started}): wait for that ` +
          `run to end, or pass another --out; if that process is gone, delete ${file}`,
      );
    }
    rmSync(file, { force: true });
  }
  throw new CliError(`cannot lock the run folder ${dir}: another process keeps taking ${file}`);
}
