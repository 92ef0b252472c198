import { DataError } from './errors.js';
import { firstInvalidUtf8 } from './utf8.js';

/**
 * Decode a training corpus from its bytes: UTF-8 text, CRLF (or old-Mac CR) line ends turned into LF, a leading
 * byte-order mark dropped. Anything else fails with a DataError that names `source` and the problem, before training
 * starts, rather than as a vocabulary of mojibake or NUL characters hours later. Needs no file system, so a browser
 * can check a file from `<input type="file">` (`new Uint8Array(await file.arrayBuffer())`) the way the CLI does.
 *
 * @param bytes - The raw content.
 * @param source - What the bytes are (a path, a file name), at the start of every error message.
 * @returns The text, with LF line ends.
 * @throws {@link DataError} when the bytes are empty, hold a NUL byte (binary data or UTF-16), are not valid UTF-8
 *   (the message gives the byte offset and the bytes) or hold only a byte-order mark.
 * @example
 * ```ts
 * decodeText(new TextEncoder().encode('one\r\ntwo'), 'notes.txt'); // 'one\ntwo'
 * ```
 */
export function decodeText(bytes: Uint8Array, source: string): string {
  if (bytes.length === 0) throw new DataError(`${source}: the file is empty`);

  // NUL never occurs in text; it is the usual sign of a binary file or of UTF-16, which would otherwise decode
  // "successfully" into a vocabulary full of \u0000
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
    const hint = utf16 ? 'it looks like UTF-16 text: convert it to UTF-8' : 'it looks like a binary file';
    throw new DataError(`${source}: contains a NUL byte at byte offset ${nul}; ${hint}`);
  }

  let text: string;
  try {
    // fatal: refuse bad bytes instead of silently turning them into U+FFFD; a leading BOM is dropped
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const hex = Array.from(bytes.subarray(bad.offset, bad.offset + bad.length), (b) => b.toString(16).padStart(2, '0'));
    throw new DataError(
      `${source}: not valid UTF-8: ${bad.reason} at byte offset ${bad.offset} (bytes ${hex.join(' ')}); ` +
        're-save the file as UTF-8',
    );
  }
  text = text.replace(/\r\n?/g, '\n');
  if (text.length === 0) throw new DataError(`${source}: the file holds no text (only a byte-order mark)`);
  return text;
}
