/**
 * The safetensors layout (https://huggingface.co/docs/safetensors): 8-byte little-endian header length, a JSON
 * header mapping names to { dtype, shape, data_offsets } plus a string-to-string "__metadata__", then the raw
 * little-endian data. Only F32 here. Other tools (Python's safetensors, candle) can read these files.
 *
 * Plain Uint8Array / DataView / TextEncoder only: this module is part of the browser-safe root of the package.
 *
 * One tensor of a safetensors file: its shape and float32 values.
 */
export interface NamedTensor {
  /** the shape */
  shape: number[];
  /** the values, row-major */
  data: Float32Array;
}

/** A checkpoint or safetensors file that cannot be read; `file` names it (a path, a URL, or a caller's label). */
export class CheckpointError extends Error {
  /**
   * @param file - Names the file.
   * @param problem - What is wrong with it.
   */
  constructor(
    /** the file's name, path or URL */
    readonly file: string,
    problem: string,
  ) {
    super(`checkpoint ${file}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Sets an own data property, so a key such as `__proto__` is stored as a name and never changes a prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Encodes F32 tensors and string metadata as a safetensors file, data 8-byte aligned.
 *
 * @param tensors - name -> shape and values, written in the map's order
 * @param metadata - stored as the header's `__metadata__` (strings only, as the format requires)
 * @returns the file's bytes
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, NamedTensor>,
  metadata: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  setOwn(header, '__metadata__', metadata);
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.length * 4;
    setOwn(header, name, { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] });
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // pad the header with spaces so the data starts 8-byte aligned (the spec allows trailing whitespace)
  const pad = (8 - ((8 + json.length) % 8)) % 8;
  const headerLen = json.length + pad;
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const t of tensors.values()) {
    if (isLittleEndian) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    else for (let i = 0; i < t.data.length; i++) view.setFloat32(pos + i * 4, t.data[i]!, true);
    pos += t.data.byteLength;
  }
  return out;
}

/** Options of decodeSafetensors. */
export interface DecodeSafetensorsOptions {
  /**
   * Accept F16, BF16 and F64 tensors too, converting them to F32 (Hugging Face checkpoints are often half
   * precision); default false: F32 only, as tinyformer writes.
   */
  convertToF32?: boolean;
}

/** The header size limit of the reference (Rust) safetensors loader: a header longer than this is not trusted. */
export const MAX_HEADER_BYTES = 100_000_000;

const F32_ONLY: Record<string, number> = { F32: 4 };
const CONVERTIBLE: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** IEEE 754 half precision bits to a number (subnormals, infinities and NaN included). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Decodes and validates a safetensors file of F32 tensors (F16, BF16 and F64 too with `opts.convertToF32`).
 *
 * @param bytes - the whole file (what Node's readFileSync returns fits: it is a Uint8Array)
 * @param file - names the file in error messages
 * @param opts - `convertToF32`: accept half/bfloat16/double tensors, converted to F32
 * @returns the tensors (copied out of `bytes`) and the string metadata
 * @throws {@link CheckpointError} when the file is truncated, has a bad header length, header JSON, dtype, shape
 *   or offsets, non-contiguous data, or trailing bytes
 */
export function decodeSafetensors(
  bytes: Uint8Array | ArrayBuffer,
  file: string,
  opts: DecodeSafetensorsOptions = {},
): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  const accepted = opts.convertToF32 ? CONVERTIBLE : F32_ONLY;
  const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 8)
    throw new CheckpointError(file, `is ${buf.length} bytes: too short to be a safetensors file (truncated?)`);
  const n = view.getBigUint64(0, true);
  if (n === 0n || n > BigInt(buf.length - 8)) {
    throw new CheckpointError(
      file,
      `header length ${n} does not fit a ${buf.length}-byte file (not a safetensors file, or truncated)`,
    );
  }
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new CheckpointError(
      file,
      `header length ${n} is over the ${MAX_HEADER_BYTES / 1e6} MB limit (not a safetensors file, or corrupted)`,
    );
  }
  const headerLen = Number(n);
  let header: Record<string, unknown>;
  try {
    // ignoreBOM: a leading BOM stays in the text (and fails JSON.parse), as it did when decoding with Buffer
    header = JSON.parse(new TextDecoder('utf-8', { ignoreBOM: true }).decode(buf.subarray(8, 8 + headerLen)));
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
    setOwn(metadata, k, v);
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
    const width = typeof dtype === 'string' && Object.hasOwn(accepted, dtype) ? accepted[dtype]! : 0;
    if (width === 0) {
      throw new CheckpointError(
        file,
        `tensor "${name}" has dtype ${JSON.stringify(dtype)}; only ${Object.keys(accepted).join(', ')} ${opts.convertToF32 ? 'are' : 'is'} supported`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new CheckpointError(file, `tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new CheckpointError(file, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    if (end - begin !== count * width) {
      throw new CheckpointError(
        file,
        `tensor "${name}" shape [${shape.join(',')}] needs ${count * width} bytes, offsets give ${end - begin}`,
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
    const at = dataStart + begin;
    if (dtype === 'F32') {
      const src = buf.subarray(at, dataStart + end);
      if (isLittleEndian) new Uint8Array(data.buffer).set(src);
      else for (let i = 0; i < count; i++) data[i] = view.getFloat32(at + i * 4, true);
    } else if (dtype === 'F64') {
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(at + i * 8, true);
    } else if (dtype === 'BF16') {
      // bfloat16 is the top half of a float32
      const bits = new Uint32Array(data.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(at + i * 2, true) << 16;
    } else {
      for (let i = 0; i < count; i++) data[i] = halfToFloat(view.getUint16(at + i * 2, true));
    }
    tensors.set(name, { shape: shape as number[], data });
  }
  if (expected !== dataLen) {
    throw new CheckpointError(file, `has ${dataLen - expected} trailing bytes after the last tensor (corrupted)`);
  }
  return { tensors, metadata };
}
