import { DataError } from './errors.js';

/**
 * A character vocabulary: id i is the i-th character. Characters are Unicode code points, not UTF-16 units, so an
 * emoji is one token and a model never emits half of a surrogate pair. Built from a corpus, the characters are in
 * code point order (nanoGPT's `sorted(set(text))`), so the same text always gives the same ids; loaded from a
 * checkpoint, the saved order is kept as is, since the ids are baked into the trained embedding.
 *
 * @example
 * ```ts
 * const vocab = CharVocab.fromText('hello world\n');
 * vocab.size; // 9
 * const ids = vocab.encode('hello'); // Int32Array [4, 3, 5, 5, 6]
 * vocab.decode(ids); // 'hello'
 * const again = CharVocab.fromJSON(JSON.parse(JSON.stringify(vocab))); // the same ids, e.g. from a checkpoint
 * ```
 */
export class CharVocab {
  private readonly chars: readonly string[];
  private readonly codes: readonly number[];
  // code point -> id; a typed table for the BMP (the hot path for encode), a Map beyond it
  private readonly bmp = new Int32Array(0x10000).fill(-1);
  private readonly astral = new Map<number, number>();

  private constructor(chars: readonly string[]) {
    this.chars = chars;
    this.codes = chars.map((ch) => ch.codePointAt(0)!);
    chars.forEach((ch, id) => {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x10000) this.bmp[cp] = id;
      else this.astral.set(cp, id);
    });
  }

  /**
   * The sorted unique code points of `text`.
   *
   * @param text - The corpus.
   * @returns One id per distinct character, in code point order.
   * @throws {@link DataError} when `text` is empty or holds a lone surrogate.
   */
  static fromText(text: string): CharVocab {
    if (text.length === 0) throw new DataError('vocabulary: cannot build one from empty text');
    // flags for the BMP keep this a tight loop over a multi-megabyte corpus; astral characters are rare
    const seenBmp = new Uint8Array(0x10000);
    const astral = new Set<number>();
    for (let i = 0; i < text.length; i++) {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) {
        astral.add(cp);
        i++;
      } else if (cp >= 0xd800 && cp <= 0xdfff) {
        // a lone surrogate cannot be written as UTF-8, so it could never be saved or sampled as text
        throw new DataError(`vocabulary: the text holds a lone surrogate ${codePoint(cp)} at UTF-16 index ${i}`);
      } else {
        seenBmp[cp] = 1;
      }
    }
    const codePoints: number[] = [];
    for (let cp = 0; cp < 0x10000; cp++) if (seenBmp[cp]) codePoints.push(cp);
    codePoints.push(...[...astral].sort((a, b) => a - b));
    return new CharVocab(codePoints.map((cp) => String.fromCodePoint(cp)));
  }

  /**
   * A vocabulary saved with toJSON (for example in a checkpoint's metadata); every entry is checked.
   *
   * @param chars - The parsed JSON: an array of single characters, in id order.
   * @returns The vocabulary, with the saved ids.
   * @throws {@link DataError} naming the first bad entry: not an array, empty, not a string, not exactly one
   *   character, a lone surrogate or a repeat.
   */
  static fromJSON(chars: unknown): CharVocab {
    if (!Array.isArray(chars))
      throw new DataError(`vocabulary: expected an array of characters, got ${describe(chars)}`);
    if (chars.length === 0) throw new DataError('vocabulary: is empty');
    const seen = new Map<string, number>();
    chars.forEach((ch: unknown, i) => {
      if (typeof ch !== 'string') throw new DataError(`vocabulary[${i}]: expected a string, got ${describe(ch)}`);
      const cp = ch.codePointAt(0);
      if (cp === undefined || String.fromCodePoint(cp) !== ch) {
        throw new DataError(`vocabulary[${i}]: expected exactly one character, got ${JSON.stringify(ch)}`);
      }
      if (cp >= 0xd800 && cp <= 0xdfff) {
        throw new DataError(`vocabulary[${i}]: lone surrogate ${codePoint(cp)} is not a character`);
      }
      const first = seen.get(ch);
      if (first !== undefined) {
        throw new DataError(`vocabulary[${i}]: ${JSON.stringify(ch)} (${codePoint(cp)}) repeats vocabulary[${first}]`);
      }
      seen.set(ch, i);
    });
    return new CharVocab([...(chars as string[])]);
  }

  /** Number of ids: the model's vocab_size. */
  get size(): number {
    return this.chars.length;
  }

  /**
   * Whether `ch` (one character) has an id.
   *
   * @param ch - One character (one code point); anything longer is never in the vocabulary.
   * @returns True when {@link CharVocab.idOf} finds it.
   */
  has(ch: string): boolean {
    return this.idOf(ch) >= 0;
  }

  /**
   * The id of one character.
   *
   * @param ch - One character (one code point).
   * @returns Its id, or -1 when the vocabulary lacks it or `ch` is not exactly one character.
   */
  idOf(ch: string): number {
    const cp = ch.codePointAt(0);
    if (cp === undefined || String.fromCodePoint(cp) !== ch) return -1;
    return cp < 0x10000 ? this.bmp[cp]! : (this.astral.get(cp) ?? -1);
  }

  /**
   * The character of one id.
   *
   * @param id - An id in [0, size).
   * @returns The character.
   * @throws RangeError when `id` is out of range.
   */
  charOf(id: number): string {
    const ch = Number.isInteger(id) ? this.chars[id] : undefined;
    if (ch === undefined) throw new RangeError(`CharVocab: id ${id} is out of range [0, ${this.size})`);
    return ch;
  }

  /**
   * One id per code point of `text`.
   *
   * @param text - Text made of the vocabulary's characters.
   * @returns The ids, one per code point (an astral character is one id).
   * @throws {@link DataError} naming the first character the vocabulary lacks and its position.
   */
  encode(text: string): Int32Array {
    const ids = new Int32Array(text.length);
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const cp = text.codePointAt(i)!;
      let id: number;
      if (cp < 0x10000) {
        id = this.bmp[cp]!;
      } else {
        id = this.astral.get(cp) ?? -1;
        i++;
      }
      if (id < 0) {
        throw new DataError(
          `unknown character ${JSON.stringify(String.fromCodePoint(cp))} (${codePoint(cp)}) at position ${n} ` +
            `(character index) is not in the ${this.size}-character vocabulary`,
        );
      }
      ids[n++] = id;
    }
    // astral characters take two UTF-16 units but one id; trim the unused tail
    return n === text.length ? ids : ids.slice(0, n);
  }

  /**
   * The text of `ids`.
   *
   * @param ids - Token ids, for example a model's samples.
   * @returns The text.
   * @throws RangeError on an id outside [0, size).
   */
  decode(ids: ArrayLike<number>): string {
    // code points in chunks through String.fromCodePoint: several times faster than joining one string per id
    const CHUNK = 8192;
    const parts: string[] = [];
    const codes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const cp = Number.isInteger(id) ? this.codes[id] : undefined;
      if (cp === undefined) {
        throw new RangeError(`CharVocab.decode: ids[${i}] = ${id} is out of range [0, ${this.size})`);
      }
      codes.push(cp);
      if (codes.length === CHUNK) {
        parts.push(String.fromCodePoint(...codes));
        codes.length = 0;
      }
    }
    parts.push(String.fromCodePoint(...codes));
    return parts.join('');
  }

  /**
   * The characters in id order; JSON.stringify(vocab) writes this array.
   *
   * @returns A copy of the characters; {@link CharVocab.fromJSON} reads it back.
   */
  toJSON(): string[] {
    return [...this.chars];
  }
}

function codePoint(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? JSON.stringify(v) : typeof v;
}
