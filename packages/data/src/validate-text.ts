import { DataError } from './errors.js';

/**
 * Check a training corpus that is already a string (pasted into a text area, `await response.text()`): the checks of
 * {@link decodeText} that make sense after decoding. CRLF (or old-Mac CR) line ends become LF and a leading
 * byte-order mark is dropped, so the same content gives the same text and vocabulary either way.
 *
 * @param text - The corpus.
 * @param source - What the text is (a file name, a URL), at the start of every error message.
 * @returns The text, with LF line ends and no byte-order mark.
 * @throws {@link DataError} when the text is empty, holds only a byte-order mark, holds a NUL character (binary data
 *   or UTF-16 read as something else) or a lone surrogate (no UTF-8 can encode it, so no checkpoint could store it).
 * @example
 * ```ts
 * validateText('\ufeffone\r\ntwo', 'pasted text'); // 'one\ntwo'
 * ```
 */
export function validateText(text: string, source: string): string {
  if (text.length === 0) throw new DataError(`${source}: the text is empty`);
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    throw new DataError(`${source}: contains a NUL character at index ${nul}; it looks like binary data or UTF-16`);
  }
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    const hex = unit.toString(16).toUpperCase();
    throw new DataError(`${source}: holds a lone surrogate U+${hex} at UTF-16 index ${i}, which is not a character`);
  }
  const normalized = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/\r\n?/g, '\n');
  if (normalized.length === 0) throw new DataError(`${source}: the text holds only a byte-order mark`);
  return normalized;
}
