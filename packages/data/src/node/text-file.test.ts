import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../errors.js';
import { readTextFile } from './text-file.js';

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

  it('refuses a FIFO at once instead of hanging on the read (issue 15 no. 7)', () => {
    const path = join(dir, 'a-fifo');
    execFileSync('mkfifo', [path]);
    const t0 = performance.now();
    expect(errorOf(path).message).toBe(
      `${path}: is not a regular file (a pipe, socket or device?); save the text to a file first`,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
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
