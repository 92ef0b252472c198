import { describe, expect, it } from 'vitest';
import { brownFileIdsFromManifest, brownTextFromFiles } from './brown-corpus.js';
import { DataError } from './errors.js';

describe('brownFileIdsFromManifest', () => {
  it('keeps the corpus file names in sorted order and skips anything else', () => {
    expect(brownFileIdsFromManifest('cb02 news\nca01 news\nREADME x\n\n  cr09 humor\n')).toEqual([
      'ca01',
      'cb02',
      'cr09',
    ]);
  });

  it('refuses a manifest with no corpus file, naming the source', () => {
    expect(() => brownFileIdsFromManifest('nothing here\n', '/brown/')).toThrow(
      new DataError('/brown/: cats.txt lists no corpus files'),
    );
  });
});

describe('brownTextFromFiles', () => {
  const files = ['\tOne/cd ./.\n', '\n', '\tTwo/cd ./.\n\n\tThree/cd ./.\n'];

  it('detokenizes each file, skips empty ones and puts a blank line between documents', () => {
    expect(brownTextFromFiles(files)).toBe('One.\n\nTwo.\nThree.');
  });

  it('stops pulling files once maxChars is reached', () => {
    let pulled = 0;
    function* lazy() {
      for (const f of files) {
        pulled++;
        yield f;
      }
    }
    expect(brownTextFromFiles(lazy(), { maxChars: 3 })).toBe('One');
    expect(pulled).toBe(1);
    expect(() => brownTextFromFiles(files, { maxChars: -1 })).toThrow(/maxChars must be a positive integer, got -1/);
  });
});
