// Reliability, bad input: every case feeds the CLI something wrong and checks what the user sees, through run()
// (the wrapper the `charlm` binary uses: `charlm: <message>` on stderr, no stack trace, exit code 1). The end-to-end
// block at the bottom runs the compiled CLI as a child process. RELIABILITY.md lists these messages.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CORPUS_TEXT, runCli, SMALL, spawnCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'charlm-bad-'));
const corpus = join(dir, 'corpus.txt');
const run = join(dir, 'run');
const ckpt = join(run, 'checkpoint.safetensors');
/** train flags that would work, so each case has exactly one thing wrong */
const TRAIN = ['train', '--data', corpus, '--backend', 'cpu', '--iters', '2', ...SMALL];

async function cli(args: string[], env?: Record<string, string>) {
  return runCli(args, { dir, env });
}

/** Runs a command that must fail; returns its one-line (or multi-line) message without the "charlm: " prefix. */
async function refused(args: string[]): Promise<string> {
  const r = await cli(args);
  expect(r.code, `exit code of charlm ${args.join(' ')}`).toBe(1);
  expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  // sample logs its backend line to stderr too; the error is the last thing printed
  const at = r.err.search(/(^|\n)charlm: /);
  expect(at, r.err).toBeGreaterThanOrEqual(0);
  return r.err
    .slice(at)
    .replace(/^\n?charlm: /, '')
    .trimEnd();
}

beforeAll(async () => {
  writeFileSync(corpus, CORPUS_TEXT);
  const r = await cli([
    ...TRAIN,
    '--out',
    run,
    '--iters',
    '6',
    '--eval-every',
    '3',
    '--eval-iters',
    '2',
    '--checkpoint-every',
    '3',
    '--sample-tokens',
    '5',
  ]);
  expect(r.code, r.err).toBe(0);
});

describe('model config through the train flags: the message names the field and the flag', () => {
  const cases: [string, string[], string][] = [
    [
      'unknown flag',
      ['--dmodel', '32'],
      "Unknown option '--dmodel' (did you mean --d-model?)\n(see charlm train --help)",
    ],
    ['wrong type', ['--d-model', 'wide'], '--d-model must be a positive integer, got "wide"'],
    [
      'dModel not divisible by nHeads',
      ['--heads', '5'],
      'invalid model settings (the --preset tiny model with the flags given):\n  - nHeads (--heads): dModel 32 must be divisible by nHeads 5',
    ],
    ['context length 0', ['--context', '0'], '--context must be a positive integer, got "0"'],
    ['context length < 0', ['--context', '-8'], '--context must be a positive integer, got "-8"'],
    [
      'misspelled norm kind',
      ['--norm', 'rmsnrom'],
      'invalid model settings (the --preset tiny model with the flags given):\n  - norm.kind (--norm): must be one of "rmsnorm" | "layernorm" | "none", got "rmsnrom"',
    ],
    [
      'misspelled placement',
      ['--placement', 'middle'],
      'invalid model settings (the --preset tiny model with the flags given):\n  - norm.placement (--placement): must be one of "pre" | "post", got "middle"',
    ],
    [
      '--placement post with --final-norm',
      ['--placement', 'post', '--final-norm'],
      'invalid model settings (the --preset tiny model with the flags given):\n  - finalNorm (--final-norm / --no-final-norm): post-norm blocks already end in a norm: finalNorm must be false with norm.placement "post"',
    ],
    [
      '--final-norm with --no-final-norm',
      ['--final-norm', '--no-final-norm'],
      '--final-norm and --no-final-norm contradict each other',
    ],
    [
      '--qk-norm with --norm none',
      ['--qk-norm', '--norm', 'none'],
      'invalid model settings (the --preset tiny model with the flags given):\n  - qkNorm (--qk-norm): qkNorm needs a norm kind other than "none"',
    ],
    [
      'odd head dim with rope',
      ['--d-model', '24', '--heads', '8'],
      'invalid model settings (the --preset tiny model with the flags given):\n  - positional (--positional): rope needs an even head dim, got dModel/nHeads = 3',
    ],
    ['unknown preset', ['--preset', 'huge'], '--preset must be one of tiny | baby | small, got "huge"'],
    ['a flag of another command', ['--top-k', '3'], 'charlm train does not take --top-k (see charlm train --help)'],
  ];
  for (const [name, flags, message] of cases) {
    it(name, async () => {
      expect(await refused([...TRAIN, '--out', join(dir, 'never'), ...flags])).toBe(message);
    });
  }

  it('--resume with flags that change the recipe is refused (they would be ignored); the same flags are fine', async () => {
    const part = join(dir, 'resume-part');
    const flags = ['--out', part, '--iters', '4', '--eval-every', '100', '--final-eval-iters', '1'];
    expect((await cli([...TRAIN, ...flags, '--stop-at', '2'])).code).toBe(0);
    expect(await refused([...TRAIN, ...flags, '--resume', '--lr', '0.1', '--d-model', '64'])).toBe(
      "--resume continues the checkpoint's recipe, but the flags change it: --lr 0.003 -> 0.1, --d-model 32 -> 64; " +
        'drop those flags, or start a new run in another --out folder',
    );
    // repeating the original command with --resume (and a new eval cadence) continues the run
    const r = await cli([...TRAIN, ...flags, '--resume', '--eval-every', '3']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('resuming <tmp>/resume-part at step 2 of 4');
  });
});

describe('data', () => {
  const files: [string, string | Buffer, string][] = [
    ['missing file', '', '<tmp>/data/missing.txt: no such file'],
    ['directory instead of a file', '', '<tmp>/data/folder: is a directory, expected a UTF-8 text file'],
    ['empty file', '', '<tmp>/data/empty.txt: the file is empty'],
    [
      'shorter than one context window',
      'the lazy dog. a tiny model',
      '<tmp>/data/short.txt: the val split has 3 tokens but context length 16 needs at least 17 (one window plus its next-token target); the val split is the last 10% of a 26-character corpus: use more text or a shorter context',
    ],
    [
      'binary file',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
      '<tmp>/data/image.png: contains a NUL byte at byte offset 8; it looks like a binary file',
    ],
    [
      'invalid UTF-8 (Latin-1)',
      Buffer.from('caf\xe9 au lait, '.repeat(100), 'latin1'),
      '<tmp>/data/latin1.txt: not valid UTF-8: a sequence cut short at byte offset 3 (bytes e9 20); re-save the file as UTF-8',
    ],
    [
      'UTF-16 text',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hello world '.repeat(50), 'utf16le')]),
      '<tmp>/data/utf16.txt: contains a NUL byte at byte offset 3; it looks like UTF-16 text: convert it to UTF-8',
    ],
    [
      'one repeated character',
      'a'.repeat(5000),
      '<tmp>/data/same.txt: the corpus holds only one distinct character ("a"): there is nothing to learn',
    ],
  ];
  const names = ['missing.txt', 'folder', 'empty.txt', 'short.txt', 'image.png', 'latin1.txt', 'utf16.txt', 'same.txt'];

  beforeAll(() => {
    mkdirSync(join(dir, 'data', 'folder'), { recursive: true });
    files.forEach(([, content], i) => {
      if (i >= 2) writeFileSync(join(dir, 'data', names[i]!), content);
    });
  });

  files.forEach(([name, , message], i) => {
    it(`train: ${name}`, async () => {
      const args = ['train', '--data', join(dir, 'data', names[i]!), '--out', join(dir, 'never'), '--backend', 'cpu'];
      expect(await refused([...args, ...SMALL])).toBe(message);
    });
  });

  it('eval names the file too (too short, characters outside the vocabulary)', async () => {
    const short = join(dir, 'data', 'short.txt');
    expect(await refused(['eval', '--checkpoint', run, '--data', short, '--backend', 'cpu'])).toBe(
      files[3]![2].replace('<tmp>/data/short.txt', short.replace(dir, '<tmp>')),
    );
    const other = join(dir, 'data', 'other.txt');
    writeFileSync(other, 'THE QUICK BROWN FOX; '.repeat(50));
    expect(await refused(['eval', '--checkpoint', run, '--data', other, '--backend', 'cpu'])).toBe(
      '<tmp>/data/other.txt has 16 character(s) outside the vocabulary of <tmp>/run/checkpoint.safetensors ' +
        '(e.g. "T", "H", "E", "Q", "U"): evaluate on text like the training data',
    );
  });
});

describe('sampling', () => {
  const sample = (...a: string[]) => cli(['sample', '--checkpoint', run, '--backend', 'cpu', '--seed', '7', ...a]);

  it('prompt characters outside the vocabulary are listed', async () => {
    expect(await refused(['sample', '--checkpoint', run, '--prompt', 'Zebra!\n', '--backend', 'cpu'])).toBe(
      '--prompt has characters that <tmp>/run/checkpoint.safetensors never saw in training: ' +
        '"Z" (U+005A), "!" (U+0021), "\\n" (U+000A)',
    );
  });

  it('no prompt works on a corpus without newlines (it starts from the first character)', async () => {
    const r = await sample('--tokens', '5');
    expect(r.code, r.err).toBe(0);
    expect([...r.out.trimEnd()]).toHaveLength(5);
  });

  it('a prompt longer than the context slides the window; with and without the KV cache alike', async () => {
    const prompt = 'the quick brown fox jumps over the lazy dog. a tiny model'; // 57 characters > context 16
    const a = await sample('--prompt', prompt, '--tokens', '30', '--temperature', '0');
    const b = await sample('--prompt', prompt, '--tokens', '30', '--temperature', '0', '--no-cache');
    expect(a.code, a.err).toBe(0);
    expect(a.out.startsWith(prompt)).toBe(true);
    expect([...a.out.trimEnd()]).toHaveLength(prompt.length + 30);
    expect(b.out).toBe(a.out);
  });

  it('temperature <= 0 is greedy: 0, -1 (written as a plain negative number) and --top-k 1 agree, for any seed', async () => {
    const greedy = (await sample('--prompt', 'the ', '--tokens', '20', '--temperature', '0')).out;
    expect((await sample('--prompt', 'the ', '--tokens', '20', '--temperature', '-1', '--seed', '99')).out).toBe(
      greedy,
    );
    expect((await sample('--prompt', 'the ', '--tokens', '20', '--top-k', '1', '--seed', '3')).out).toBe(greedy);
  });

  it('--top-k above the vocabulary size keeps every character, with a note', async () => {
    const all = await sample('--prompt', 'the ', '--tokens', '20', '--top-k', '1000');
    expect(all.err).toContain('note: --top-k 1000 is more than the 28 characters of the vocabulary: keeping them all');
    expect(all.out).toBe((await sample('--prompt', 'the ', '--tokens', '20')).out);
  });

  const bad: [string, string[], string][] = [
    ['--top-k negative', ['--top-k', '-1'], '--top-k must be an integer >= 0, got "-1"'],
    ['--top-k not an integer', ['--top-k', '2.5'], '--top-k must be an integer >= 0, got "2.5"'],
    ['--top-p 0', ['--top-p', '0'], '--top-p must be in (0, 1] (1 = off), got 0'],
    ['--top-p above 1', ['--top-p', '1.5'], '--top-p must be in (0, 1] (1 = off), got 1.5'],
    ['--top-p negative', ['--top-p', '-0.5'], '--top-p must be in (0, 1] (1 = off), got -0.5'],
    ['--temperature not a number', ['--temperature', 'hot'], '--temperature must be a number, got "hot"'],
    ['--temperature NaN', ['--temperature', 'NaN'], '--temperature must be a number, got "NaN"'],
    ['--tokens negative', ['--tokens', '-3'], '--tokens must be an integer >= 0, got "-3"'],
    ['no --checkpoint', [], ''],
  ];
  for (const [name, flags, message] of bad) {
    it(name, async () => {
      if (flags.length === 0) {
        expect(await refused(['sample', '--prompt', 'the'])).toBe(
          'charlm sample needs --checkpoint <run folder or file>',
        );
        return;
      }
      expect(await refused(['sample', '--checkpoint', run, '--backend', 'cpu', ...flags])).toBe(message);
    });
  }
});

describe('checkpoints: refused by sample, eval and train --resume, naming the file and the problem', () => {
  /** The checkpoint's parts, to build damaged variants: header JSON and data bytes. */
  function parts(): { header: Record<string, Record<string, unknown>>; data: Buffer; raw: Buffer } {
    const raw = readFileSync(ckpt);
    const n = Number(raw.readBigUInt64LE(0));
    return { header: JSON.parse(raw.subarray(8, 8 + n).toString('utf8')), data: raw.subarray(8 + n), raw };
  }
  function withHeader(header: unknown, data: Buffer): Buffer {
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, data]);
  }
  function editMeta(edit: (meta: Record<string, string>) => void): Buffer {
    const { header, data } = parts();
    edit(header.__metadata__ as Record<string, string>);
    return withHeader(header, data);
  }

  const damaged: [string, () => Buffer, (file: string) => string][] = [
    [
      'truncated file',
      () => parts().raw.subarray(0, Math.floor(parts().raw.length / 2)),
      (f) =>
        `checkpoint ${f}: tensor "optimizer.m.blocks.0.ffn.w1.weight" ends at byte 155776 but the file has 154028 data bytes (truncated)`,
    ],
    [
      'truncated inside the length prefix',
      () => parts().raw.subarray(0, 5),
      (f) => `checkpoint ${f}: is 5 bytes: too short to be a safetensors file (truncated?)`,
    ],
    [
      'wrong magic (a PNG)',
      () => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200)]),
      (f) =>
        `checkpoint ${f}: header length 727905341920923785 does not fit a 208-byte file (not a safetensors file, or truncated)`,
    ],
    [
      'garbage header',
      () => Buffer.concat([Buffer.from([16, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{not json at all'), Buffer.alloc(64)]),
      (f) => `checkpoint ${f}: header is not valid JSON (wrong magic, not a safetensors file, or corrupted)`,
    ],
    [
      'header shapes disagree with the config',
      () =>
        editMeta((m) => {
          m.config = JSON.stringify({ ...JSON.parse(m.config!), dModel: 64 });
        }),
      (f) => `checkpoint ${f}: parameter "wte.weight" is [28,32] but the config needs [28,64]`,
    ],
    [
      'future format version',
      () =>
        editMeta((m) => {
          m.format_version = '2';
        }),
      (f) =>
        `checkpoint ${f}: was written by a newer tinyformer (format version 2; this one reads up to 1): upgrade to load it`,
    ],
    [
      'vocabulary of another size than the model',
      () =>
        editMeta((m) => {
          const meta = JSON.parse(m.meta!);
          meta.vocab = meta.vocab.slice(0, -1);
          m.meta = JSON.stringify(meta);
        }),
      (f) => `checkpoint ${f}: its vocabulary has 27 characters but the model expects 28`,
    ],
  ];

  damaged.forEach(([name, make, message], i) => {
    it(name, async () => {
      const folder = join(dir, `damaged-${i}`);
      mkdirSync(folder, { recursive: true });
      const file = join(folder, 'checkpoint.safetensors');
      writeFileSync(file, make());
      const shown = file.replace(dir, '<tmp>');
      expect(await refused(['sample', '--checkpoint', file, '--backend', 'cpu'])).toBe(message(shown));
      expect(await refused(['eval', '--checkpoint', folder, '--data', corpus, '--backend', 'cpu'])).toBe(
        message(shown),
      );
      if (name.startsWith('vocabulary')) return; // --resume checks the vocabulary against the data (below)
      expect(await refused([...TRAIN, '--out', folder, '--resume'])).toBe(message(shown));
    });
  });

  it('--resume on other data (another vocabulary) is refused; a missing checkpoint too', async () => {
    const folder = join(dir, 'other-data');
    mkdirSync(folder, { recursive: true });
    copyFileSync(ckpt, join(folder, 'checkpoint.safetensors'));
    const other = join(dir, 'other-corpus.txt');
    writeFileSync(other, 'Completely different text, with CAPITALS. '.repeat(40));
    expect(await refused(['train', '--data', other, '--out', folder, '--resume', '--backend', 'cpu'])).toBe(
      '--resume: the checkpoint was trained on <tmp>/corpus.txt (3120 chars), not on this data (<tmp>/other-corpus.txt, 1680 chars)',
    );
    expect(await refused(['sample', '--checkpoint', join(dir, 'nowhere'), '--backend', 'cpu'])).toBe(
      '--checkpoint <tmp>/nowhere: no checkpoint found at <tmp>/nowhere',
    );
    expect(await refused([...TRAIN, '--out', join(dir, 'empty-run'), '--resume'])).toBe(
      '--resume: no checkpoint at <tmp>/empty-run/checkpoint.safetensors; start a new run without --resume',
    );
  });
});

describe('end to end: the compiled CLI in a child process', () => {
  it('exits 1 with one line on stderr and no stack trace', () => {
    const cases: [string[], string][] = [
      [
        ['train', '--data', join(dir, 'nope.txt'), '--backend', 'cpu'],
        `charlm: ${join(dir, 'nope.txt')}: no such file\n`,
      ],
      [['sample', '--checkpoint', join(dir, 'damaged-3'), '--backend', 'cpu'], ''],
      [['train', '--norm', 'batchnorm'], ''],
    ];
    for (const [args, stderr] of cases) {
      const r = spawnCli(args);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/(^|\n)charlm: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      if (stderr) expect(r.stderr).toBe(stderr);
    }
  });
});
