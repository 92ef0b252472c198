import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CheckpointError } from './safetensors.js';

// Node-only: reached through the @tinyformer/model/node entry, never from the package root.

/**
 * Writes a file so that a crash or kill at any moment leaves either the old file or the new one, never a mix:
 * temp file in the same directory, fsync, rename over the target, fsync the directory. Readers only ever open the
 * target, so a temp file left by a killed writer is ignored; the next write of the same target removes it.
 *
 * @param path - the target file; its directory must exist
 * @param data - bytes, or a string written as UTF-8
 * @throws the file-system error when the temp file cannot be written or renamed (the old target is untouched)
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  removeStaleTempFiles(path);
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  let fd = -1;
  try {
    fd = openSync(tmp, 'w', 0o644);
    const buf = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = openSync(dirname(path), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // some filesystems refuse fsync on directories; the rename itself is still atomic
  }
}

/** The largest checkpoint file read: 2 GiB (a Node Buffer and the wasm arena both stop near there). */
export const MAX_CHECKPOINT_BYTES = 2 ** 31;

/**
 * Reads a whole file that should be a checkpoint.
 *
 * @param path - the file
 * @returns its bytes
 * @throws {@link CheckpointError} when it does not exist, is not a regular file (a directory, FIFO, socket,
 *   device) or is over 2 GiB; the size is checked before reading
 */
export function readFileChecked(path: string): Uint8Array {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new CheckpointError(path, 'does not exist');
  }
  if (st.isDirectory()) throw new CheckpointError(path, 'is a directory, not a checkpoint file');
  // a FIFO, socket or device would block the read forever or never end: only regular files are read
  if (!st.isFile()) throw new CheckpointError(path, 'is not a regular file (a pipe, socket or device?)');
  if (st.size > MAX_CHECKPOINT_BYTES) {
    throw new CheckpointError(
      path,
      `is ${(st.size / 2 ** 30).toFixed(2)} GiB; checkpoints over 2 GiB are not supported (a model that large does not train here)`,
    );
  }
  return readFileSync(path);
}

const TEMP_NAME = /^\.(.+)\.tmp-(\d+)-\d+$/;

/**
 * Deletes the temp files of `path` (`.<name>.tmp-<pid>-<time>`) that writeFileAtomic left behind when its process
 * was killed mid-write: those whose process no longer exists. A live writer's temp file is never touched. Returns
 * the names removed.
 *
 * @param path - The file whose temp files to look for.
 * @returns The names removed.
 */
export function removeStaleTempFiles(path: string): string[] {
  const dir = dirname(path);
  const target = basename(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || m[1] !== target) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || processExists(pid)) continue;
    try {
      rmSync(join(dir, name), { force: true });
      removed.push(name);
    } catch {
      // another writer removed it first, or the folder is read-only: the temp file is harmless either way
    }
  }
  return removed;
}

/**
 * Whether a process with this pid exists on this host (one that belongs to another user counts: EPERM).
 *
 * @param pid - The process id.
 * @returns True when it exists.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
