import { readFileSync, statSync } from 'node:fs';
import { decodeText } from '../decode-text.js';
import { DataError } from '../errors.js';

/**
 * Read a training corpus given with `--data <file>`: a regular file whose bytes {@link decodeText} accepts (UTF-8,
 * no NUL bytes, not empty), with CRLF (or old-Mac CR) line ends turned into LF. Node only: in a browser, pass the
 * file's bytes to `decodeText` instead.
 *
 * @param path - The file to read.
 * @returns The text, with LF line ends.
 * @throws {@link DataError} naming `path` when it does not exist, is a directory, cannot be read, or fails one of
 *   `decodeText`'s checks (the message gives the byte offset of the first bad byte).
 * @example
 * ```ts
 * import { readTextFile } from '@tinyformer/data/node';
 * const text = readTextFile('data/tinyshakespeare.txt');
 * ```
 */
export function readTextFile(path: string): string {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`${path}: no such file`);
    throw new DataError(`${path}: cannot read it (${code ?? (err as Error).message})`);
  }
  if (isDirectory) throw new DataError(`${path}: is a directory, expected a UTF-8 text file`);

  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(`${path}: cannot read it (${code ?? (err as Error).message})`);
  }
  return decodeText(bytes, path);
}
