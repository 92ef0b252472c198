import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, firstInvalidUtf8, readTextFile } from './text-file.js';

describe('readTextFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'charlm-text-file-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function file(name: string, content: string | Uint8Array): string {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  }

  /** The DataError that reading `path` throws. */
  function errorOf(path: string): DataError {
    try {
      readTextFile(path);
    } catch (err) {
      expect(err).toBeInstanceOf(DataError);
      return err as DataError;
    }
    throw new Error(`readTextFile(${path}) did not throw`);
  }

  it('reads UTF-8 text, including characters beyond the BMP', () => {
    expect(readTextFile(file('ok.txt', 'héllo wörld 😀\n'))).toBe('héllo wörld 😀\n');
  });

  it('turns CRLF and lone CR line ends into LF and drops a BOM', () => {
    expect(readTextFile(file('crlf.txt', 'one\r\ntwo\r\nthree\rfour\n'))).toBe('one\ntwo\nthree\nfour\n');
    expect(readTextFile(file('bom.txt', '\ufeffstart'))).toBe('start');
  });

  it('names a missing file', () => {
    const path = join(dir, 'nope.txt');
    const err = errorOf(path);
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/no such file/);
  });

  it('refuses a directory', () => {
    const path = join(dir, 'a-directory');
    mkdirSync(path);
    expect(errorOf(path).message).toBe(`${path}: is a directory, expected a UTF-8 text file`);
  });

  it('refuses an empty file', () => {
    const path = file('empty.txt', '');
    expect(errorOf(path).message).toBe(`${path}: the file is empty`);
    const bomOnly = file('bom-only.txt', '\ufeff');
    expect(errorOf(bomOnly).message).toMatch(/holds no text/);
  });

  it('refuses invalid UTF-8 with the byte offset of the first bad sequence', () => {
    const path = file('latin1.txt', Buffer.from('caf\xe9 au lait', 'latin1'));
    const err = errorOf(path);
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/not valid UTF-8: .* at byte offset 3 \(bytes e9 20\)/);
  });

  it('refuses binary content (NUL bytes) with its offset', () => {
    const path = file('binary.bin', new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x00, 0x14]));
    expect(errorOf(path).message).toBe(`${path}: contains a NUL byte at byte offset 4; it looks like a binary file`);
    const utf16 = file('utf16.txt', Buffer.from('\ufeffhi', 'utf16le'));
    expect(errorOf(utf16).message).toMatch(/NUL byte at byte offset 3; it looks like UTF-16 text: convert it to UTF-8/);
  });
});

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
