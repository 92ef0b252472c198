import { describe, expect, it } from 'vitest';
import { decodeText } from './decode-text.js';
import { DataError } from './errors.js';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('decodeText', () => {
  it('decodes UTF-8, turns CRLF and CR into LF and drops a BOM', () => {
    expect(decodeText(utf8('\ufeffhé 😀\r\nb\rc'), 'x.txt')).toBe('hé 😀\nb\nc');
  });

  it('names the source in every refusal, with the same messages as readTextFile', () => {
    expect(() => decodeText(new Uint8Array(0), 'x.txt')).toThrow(new DataError('x.txt: the file is empty'));
    expect(() => decodeText(new Uint8Array([0x61, 0, 0x62]), 'x.bin')).toThrow(
      'x.bin: contains a NUL byte at byte offset 1; it looks like a binary file',
    );
    expect(() => decodeText(new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20]), 'l1.txt')).toThrow(
      'l1.txt: not valid UTF-8: a sequence cut short at byte offset 3 (bytes e9 20); re-save the file as UTF-8',
    );
    expect(() => decodeText(utf8('\ufeff'), 'bom.txt')).toThrow(/bom.txt: the file holds no text/);
  });
});
