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

/**
 * The safetensors layout (https://huggingface.co/docs/safetensors): 8-byte little-endian header length, a JSON
 * header mapping names to { dtype, shape, data_offsets } plus a string-to-string "__metadata__", then the raw
 * little-endian data. Only F32 here. Other tools (Python's safetensors, candle) can read these files.
 */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`checkpoint ${file}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

export function encodeSafetensors(tensors: ReadonlyMap<string, NamedTensor>, metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // pad the header with spaces so the data starts 8-byte aligned (the spec allows trailing whitespace)
  const pad = (8 - ((8 + Buffer.byteLength(json)) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    const view = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (isLittleEndian) view.copy(out, pos);
    else for (let i = 0; i < t.data.length; i++) out.writeFloatLE(t.data[i]!, pos + i * 4);
    pos += t.data.byteLength;
  }
  return out;
}

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function decodeSafetensors(
  buf: Buffer,
  file: string,
): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  if (buf.length < 8)
    throw new CheckpointError(file, `is ${buf.length} bytes: too short to be a safetensors file (truncated?)`);
  const n = buf.readBigUInt64LE(0);
  if (n === 0n || n > BigInt(buf.length - 8)) {
    throw new CheckpointError(
      file,
      `header length ${n} does not fit a ${buf.length}-byte file (not a safetensors file, or truncated)`,
    );
  }
  const headerLen = Number(n);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  } catch {
    throw new CheckpointError(file, 'header is not valid JSON (wrong magic, not a safetensors file, or corrupted)');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new CheckpointError(file, 'header is not a JSON object');
  }
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const rawMeta = (header.__metadata__ ?? {}) as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawMeta)) {
    if (typeof v !== 'string') throw new CheckpointError(file, `metadata "${k}" is not a string`);
    metadata[k] = v;
  }
  const tensors = new Map<string, NamedTensor>();
  let expected = 0;
  const entries = Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .sort((a, b) => ((a[1] as any)?.data_offsets?.[0] ?? 0) - ((b[1] as any)?.data_offsets?.[0] ?? 0));
  for (const [name, info] of entries) {
    const {
      dtype,
      shape,
      data_offsets: offs,
    } = (info ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (dtype !== 'F32')
      throw new CheckpointError(file, `tensor "${name}" has dtype ${JSON.stringify(dtype)}; only F32 is supported`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new CheckpointError(file, `tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new CheckpointError(file, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    if (end - begin !== count * 4) {
      throw new CheckpointError(
        file,
        `tensor "${name}" shape [${shape.join(',')}] needs ${count * 4} bytes, offsets give ${end - begin}`,
      );
    }
    if (begin !== expected)
      throw new CheckpointError(
        file,
        `tensor "${name}" data is not contiguous (starts at ${begin}, expected ${expected})`,
      );
    if (end > dataLen) {
      throw new CheckpointError(
        file,
        `tensor "${name}" ends at byte ${end} but the file has ${dataLen} data bytes (truncated)`,
      );
    }
    expected = end;
    const data = new Float32Array(count);
    const src = buf.subarray(dataStart + begin, dataStart + end);
    if (isLittleEndian) new Uint8Array(data.buffer).set(src);
    else for (let i = 0; i < count; i++) data[i] = src.readFloatLE(i * 4);
    tensors.set(name, { shape: shape as number[], data });
  }
  if (expected !== dataLen) {
    throw new CheckpointError(file, `has ${dataLen - expected} trailing bytes after the last tensor (corrupted)`);
  }
  return { tensors, metadata };
}

/**
 * Writes a file so that a crash or kill at any moment leaves either the old file or the new one, never a mix:
 * temp file in the same directory, fsync, rename over the target, fsync the directory. Readers only ever open the
 * target, so a temp file left by a killed writer is ignored; the next write of the same target removes it.
 */
export function writeFileAtomic(path: string, data: Buffer | string): void {
  removeStaleTempFiles(path);
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  let fd = -1;
  try {
    fd = openSync(tmp, 'w', 0o644);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
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

export function readFileChecked(path: string): Buffer {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new CheckpointError(path, 'does not exist');
  }
  if (st.isDirectory()) throw new CheckpointError(path, 'is a directory, not a checkpoint file');
  return readFileSync(path);
}

const TEMP_NAME = /^\.(.+)\.tmp-(\d+)-\d+$/;

/**
 * Deletes the temp files of `path` (`.<name>.tmp-<pid>-<time>`) that writeFileAtomic left behind when its process
 * was killed mid-write: those whose process no longer exists. A live writer's temp file is never touched. Returns
 * the names removed.
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

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
