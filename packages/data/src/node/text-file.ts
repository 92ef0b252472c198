import { readFileSync, statSync } from 'node:fs';
import { decodeText } from '../decode-text.js';
import { DataError } from '../errors.js';

/** The largest text file read: 1 GiB (a JS string of it is already about 2 GB). */
export const MAX_TEXT_BYTES = 2 ** 30;

/**
 * Read a training corpus given with `--data <file>`: a regular file whose bytes {@link decodeText} accepts (UTF-8,
 * no NUL bytes, not empty), with CRLF (or old-Mac CR) line ends turned into LF. Node only: in a browser, pass the
 * file's bytes to `decodeText` instead.
 *
 * @param path - The file to read.
 * @returns The text, with LF line ends.
 * @throws {@link DataError} naming `path` when it does not exist, is a directory or another non-regular file (a FIFO
 *   would hang the read), is over 1 GiB, cannot be read, or fails one of
 *   `decodeText`'s checks (the message gives the byte offset of the first bad byte).
 * @example
 * ```ts
 * import { readTextFile } from '@tinyformer/data/node';
 * const text = readTextFile('data/tinyshakespeare.txt');
 * ```
 */
export function readTextFile(path: string): string {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`${path}: no such file`);
    throw new DataError(`${path}: cannot read it (${code ?? (err as Error).message})`);
  }
  if (st.isDirectory()) throw new DataError(`${path}: is a directory, expected a UTF-8 text file`);
  // a FIFO, socket or device would block the read or never end
  if (!st.isFile())
    throw new DataError(`${path}: is not a regular file (a pipe, socket or device?); save the text to a file first`);
  if (st.size > MAX_TEXT_BYTES) {
    throw new DataError(
      `${path}: is ${(st.size / 2 ** 20).toFixed(0)} MiB; text files over ${MAX_TEXT_BYTES / 2 ** 20} MiB are not read (a character-level corpus that large does not train here)`,
    );
  }

  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(`${path}: cannot read it (${code ?? (err as Error).message})`);
  }
  return decodeText(bytes, path);
}
