/** Where and why a byte sequence is not UTF-8, as {@link firstInvalidUtf8} reports it. */
export interface Utf8Problem {
  /** Byte offset where the first bad sequence starts. */
  offset: number;
  /** How many bytes of it to show. */
  length: number;
  /** What is wrong, in words (for example `an overlong encoding, a surrogate or a code point above U+10FFFF`). */
  reason: string;
}

/**
 * Locate the first malformed UTF-8 sequence (the WHATWG decoder throws without saying where). Checks what the
 * standard forbids: stray continuation bytes, 0xC0/0xC1/0xF5+ lead bytes, overlong forms, surrogates (U+D800..DFFF),
 * code points above U+10FFFF and sequences cut short.
 *
 * @param bytes - Bytes that a fatal `TextDecoder` rejected.
 * @returns The first bad sequence; for valid UTF-8, `{ offset: bytes.length, length: 0 }`.
 * @example
 * ```ts
 * firstInvalidUtf8(new Uint8Array([0x61, 0x80])); // { offset: 1, length: 1, reason: 'a continuation byte with no lead byte' }
 * ```
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
