import { describe, expect, it } from 'vitest';
import { DataError } from './errors.js';
import { CharVocab } from './vocab.js';

describe('CharVocab', () => {
  it('holds the sorted unique characters of the text', () => {
    const vocab = CharVocab.fromText('hello world\n');
    expect(vocab.toJSON()).toEqual(['\n', ' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
    expect(vocab.size).toBe(9);
    expect(vocab.has('l')).toBe(true);
    expect(vocab.has('z')).toBe(false);
    expect(vocab.has('lo')).toBe(false);
  });

  it('round-trips text with characters beyond the BMP, one id per code point', () => {
    const text = 'ab 😀 é🎉a\u{10FFFF}';
    const vocab = CharVocab.fromText(text);
    const ids = vocab.encode(text);
    expect(ids).toBeInstanceOf(Int32Array);
    expect(ids.length).toBe([...text].length);
    expect(vocab.decode(ids)).toBe(text);
    expect(vocab.has('😀')).toBe(true);
    expect(vocab.has('\ud83d')).toBe(false); // half of the 😀 surrogate pair is not a character
  });

  it('sorts by code point, not by UTF-16 unit', () => {
    // U+FF21 sorts after 😀 (U+1F600) as UTF-16 units (0xFF21 > 0xD83D) but before it as code points
    expect(CharVocab.fromText('😀\uff21').toJSON()).toEqual(['\uff21', '😀']);
  });

  it('names an unknown character, its code point and its position', () => {
    const vocab = CharVocab.fromText('abc');
    expect(() => vocab.encode('abcx')).toThrow(DataError);
    expect(() => vocab.encode('ab\tc')).toThrow(
      'unknown character "\\t" (U+0009) at position 2 (character index) is not in the 3-character vocabulary',
    );
    // the position counts characters, so a preceding emoji counts once
    expect(() => CharVocab.fromText('a😀').encode('😀a🎉')).toThrow(/"🎉" \(U\+1F389\) at position 2/);
  });

  it('throws on an id out of range', () => {
    const vocab = CharVocab.fromText('ab');
    expect(vocab.decode([1, 0])).toBe('ba');
    expect(() => vocab.decode([0, 2])).toThrow(RangeError);
    expect(() => vocab.decode([0, 2])).toThrow('CharVocab.decode: ids[1] = 2 is out of range [0, 2)');
    expect(() => vocab.decode([-1])).toThrow(RangeError);
    expect(() => vocab.decode([0.5])).toThrow(RangeError);
  });

  it('survives JSON, keeping the saved order of ids', () => {
    const vocab = CharVocab.fromText('zebra 🦓');
    const restored = CharVocab.fromJSON(JSON.parse(JSON.stringify(vocab)));
    expect(restored.toJSON()).toEqual(vocab.toJSON());
    expect(restored.decode(vocab.encode('bar 🦓'))).toBe('bar 🦓');
    // a checkpoint's order is the model's ids, sorted or not
    expect(CharVocab.fromJSON(['b', 'a']).encode('ab')).toEqual(Int32Array.from([1, 0]));
  });

  it('validates a saved vocabulary', () => {
    expect(() => CharVocab.fromJSON('abc')).toThrow('vocabulary: expected an array of characters, got "abc"');
    expect(() => CharVocab.fromJSON(null)).toThrow(/got null/);
    expect(() => CharVocab.fromJSON([])).toThrow('vocabulary: is empty');
    expect(() => CharVocab.fromJSON(['a', 1])).toThrow('vocabulary[1]: expected a string, got number');
    expect(() => CharVocab.fromJSON(['a', 'bc'])).toThrow('vocabulary[1]: expected exactly one character, got "bc"');
    expect(() => CharVocab.fromJSON([''])).toThrow(/vocabulary\[0\]: expected exactly one character/);
    expect(() => CharVocab.fromJSON(['a', 'b', 'a'])).toThrow('vocabulary[2]: "a" (U+0061) repeats vocabulary[0]');
    expect(() => CharVocab.fromJSON(['\ud800'])).toThrow(/lone surrogate U\+D800/);
    expect(() => CharVocab.fromJSON(['a', 'b'])).not.toThrow();
  });

  it('refuses empty text and lone surrogates', () => {
    expect(() => CharVocab.fromText('')).toThrow(DataError);
    expect(() => CharVocab.fromText('ab\udc00')).toThrow(/lone surrogate U\+DC00 at UTF-16 index 2/);
  });
});
