import { readFileSync, statSync } from 'node:fs';
import { DataError } from '../errors.js';

export { DataError } from '../errors.js';

/**
 * Read a training corpus given with `--data <file>`: UTF-8 text, CRLF (or old-Mac CR) line ends turned into LF.
 * Anything else fails with a DataError that names the path and the problem, before training starts, rather than
 * as a vocabulary of mojibake or NUL characters hours later.
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

  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(`${path}: cannot read it (${code ?? (err as Error).message})`);
  }
  if (bytes.length === 0) throw new DataError(`${path}: the file is empty`);

  // NUL never occurs in text; it is the usual sign of a binary file or of UTF-16, which would otherwise decode
  // "successfully" into a vocabulary full of \u0000
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
    const hint = utf16 ? 'it looks like UTF-16 text: convert it to UTF-8' : 'it looks like a binary file';
    throw new DataError(`${path}: contains a NUL byte at byte offset ${nul}; ${hint}`);
  }

  let text: string;
  try {
    // fatal: refuse bad bytes instead of silently turning them into U+FFFD; a leading BOM is dropped
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const hex = Array.from(bytes.subarray(bad.offset, bad.offset + bad.length), (b) => b.toString(16).padStart(2, '0'));
    throw new DataError(
      `${path}: not valid UTF-8: ${bad.reason} at byte offset ${bad.offset} (bytes ${hex.join(' ')}); ` +
        're-save the file as UTF-8',
    );
  }
  text = text.replace(/\r\n?/g, '\n');
  if (text.length === 0) throw new DataError(`${path}: the file holds no text (only a byte-order mark)`);
  return text;
}

export interface Utf8Problem {
  /** Byte offset where the first bad sequence starts. */
  offset: number;
  /** How many bytes of it to show. */
  length: number;
  reason: string;
}

/**
 * Locate the first malformed UTF-8 sequence (the WHATWG decoder throws without saying where). Checks what the
 * standard forbids: stray continuation bytes, 0xC0/0xC1/0xF5+ lead bytes, overlong forms, surrogates (U+D800..DFFF),
 * code points above U+10FFFF and sequences cut short.
 */
export function firstInvalidUtf8(bytes: Uint8Array): Utf8Problem {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    // the allowed range of the second byte pins down overlongs, surrogates and > U+10FFFF (Unicode Table 3-7)
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else {
      const reason = b <= 0xbf ? 'a continuation byte with no lead byte' : `byte 0x${b.toString(16)} never occurs`;
      return { offset: i, length: 1, reason };
    }
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined) return { offset: i, length: k, reason: 'a sequence cut short by the end of the file' };
      const ok = k === 1 ? c >= lo && c <= hi : c >= 0x80 && c <= 0xbf;
      if (!ok) {
        const reason =
          k === 1 && c >= 0x80 && c <= 0xbf
            ? 'an overlong encoding, a surrogate or a code point above U+10FFFF'
            : 'a sequence cut short';
        return { offset: i, length: k + 1, reason };
      }
    }
    i += need + 1;
  }
  // unreachable for input the decoder rejected; kept total so callers need no special case
  return { offset: n, length: 0, reason: 'no invalid sequence' };
}
