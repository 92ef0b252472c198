import { describe, expect, it } from 'vitest';
import { DataError } from './errors.js';
import { validateText } from './validate-text.js';

describe('validateText', () => {
  it('keeps characters beyond the BMP, turns CRLF and CR into LF and drops a BOM', () => {
    expect(validateText('\ufeffhé 😀\r\nb\rc', 'pasted')).toBe('hé 😀\nb\nc');
  });

  it('refuses empty text, a lone BOM, NUL and lone surrogates, naming the source', () => {
    expect(() => validateText('', 'pasted')).toThrow(new DataError('pasted: the text is empty'));
    expect(() => validateText('\ufeff', 'pasted')).toThrow('pasted: the text holds only a byte-order mark');
    expect(() => validateText('ab\0', 'pasted')).toThrow(/pasted: contains a NUL character at index 2/);
    expect(() => validateText('a\ud800b', 'pasted')).toThrow(
      'pasted: holds a lone surrogate U+D800 at UTF-16 index 1, which is not a character',
    );
    expect(() => validateText('a\udc00', 'pasted')).toThrow(/lone surrogate U\+DC00 at UTF-16 index 1/);
  });
});
