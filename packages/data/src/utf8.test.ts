import { describe, expect, it } from 'vitest';
import { firstInvalidUtf8 } from './utf8.js';

describe('firstInvalidUtf8', () => {
  const at = (...bytes: number[]) => firstInvalidUtf8(new Uint8Array(bytes));

  it('finds each kind of malformed sequence', () => {
    expect(at(0x61, 0x80)).toMatchObject({ offset: 1, reason: 'a continuation byte with no lead byte' });
    expect(at(0x61, 0xc0, 0xaf)).toMatchObject({ offset: 1, reason: 'byte 0xc0 never occurs' });
    expect(at(0xe0, 0x80, 0x80)).toMatchObject({ offset: 0, reason: /overlong/ }); // overlong U+0000
    expect(at(0x61, 0x62, 0xed, 0xa0, 0x80)).toMatchObject({ offset: 2, reason: /surrogate/ }); // U+D800
    expect(at(0xf4, 0x90, 0x80, 0x80)).toMatchObject({ offset: 0, reason: /above U\+10FFFF/ });
    expect(at(0x61, 0xe2, 0x82)).toMatchObject({ offset: 1, reason: /end of the file/ });
    expect(at(0xe2, 0x41, 0x41)).toMatchObject({ offset: 0, length: 2, reason: 'a sequence cut short' });
  });

  it('agrees with the WHATWG decoder on random bytes', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    // a small LCG keeps the test deterministic; the byte mix favours lead and continuation bytes
    let s = 12345;
    const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8;
    const pool = [0x41, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xc0, 0xff];
    for (let trial = 0; trial < 2000; trial++) {
      const bytes = Uint8Array.from({ length: 1 + (rand() % 8) }, () => pool[rand() % pool.length]!);
      let valid = true;
      try {
        decoder.decode(bytes);
      } catch {
        valid = false;
      }
      const bad = firstInvalidUtf8(bytes);
      expect(bad.offset === bytes.length, `bytes ${Array.from(bytes)}`).toBe(valid);
      // everything before the reported offset is valid UTF-8
      if (!valid) expect(() => decoder.decode(bytes.subarray(0, bad.offset))).not.toThrow();
    }
  });
});
