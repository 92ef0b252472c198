// charlm export: a run as a Hugging Face folder, and that folder back through charlm sample and eval. The logits
// check against PyTorch lives in packages/hf (test/pytorch.test.ts).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, run } from '../src/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'charlm-export-'));
const corpus = join(dir, 'corpus.txt');
const lines: string[] = [];
let out = '';
const orig = { log: console.log, error: console.error, write: process.stdout.write.bind(process.stdout) };
const SMALL = ['--context', '16', '--d-model', '32', '--layers', '2', '--heads', '2', '--batch-size', '4'];

beforeAll(() => {
  writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. '.repeat(40));
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  console.error = (...a: unknown[]) => lines.push(a.join(' '));
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
});
afterAll(() => {
  console.log = orig.log;
  console.error = orig.error;
  process.stdout.write = orig.write;
  rmSync(dir, { recursive: true, force: true });
});

const train = (runDir: string, extra: string[] = []) =>
  main([
    'train',
    '--data',
    corpus,
    '--out',
    runDir,
    '--backend',
    'cpu',
    '--iters',
    '6',
    '--eval-every',
    '6',
    '--eval-iters',
    '2',
    '--checkpoint-every',
    '6',
    '--sample-tokens',
    '5',
    '--final-eval-iters',
    '4',
    ...SMALL,
    ...extra,
  ]);

async function sample(checkpoint: string): Promise<string> {
  out = '';
  expect(await main(['sample', '--checkpoint', checkpoint, '--tokens', '30', '--seed', '5', '--backend', 'cpu'])).toBe(
    0,
  );
  return out;
}

describe('charlm export', () => {
  it('writes the five files; the folder samples exactly like the run (same seed) and evaluates', async () => {
    const runDir = join(dir, 'run');
    expect(await train(runDir)).toBe(0);
    const hf = join(dir, 'hf');
    lines.length = 0;
    expect(await main(['export', '--checkpoint', runDir, '--out', hf])).toBe(0);
    expect(lines.join('\n')).toMatch(/as LlamaForCausalLM \(model_type llama\)/);
    for (const f of [
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]) {
      expect(existsSync(join(hf, f)), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(hf, 'config.json'), 'utf8')).model_type).toBe('llama');
    // no optimizer moments: the export is smaller than the checkpoint
    expect(readFileSync(join(hf, 'model.safetensors')).length).toBeLessThan(
      readFileSync(join(runDir, 'checkpoint.safetensors')).length / 2,
    );
    expect(await sample(hf)).toBe(await sample(runDir));
    lines.length = 0;
    expect(await main(['eval', '--checkpoint', hf, '--backend', 'cpu', '--data', corpus, '--batches', '2'])).toBe(0);
    expect(lines.join('\n')).toMatch(/val loss/);
  });

  it('refuses a recipe with no stock class, a non-empty --out without --force, and an HF folder as input', async () => {
    const post = join(dir, 'post');
    expect(await train(post, ['--placement', 'post'])).toBe(0);
    lines.length = 0;
    await run(['export', '--checkpoint', post, '--out', join(dir, 'post-hf')]);
    expect(process.exitCode).toBe(1);
    expect(lines.join('\n')).toMatch(
      /charlm: cannot export .*no stock Hugging Face class computes this recipe.*post-norm/s,
    );
    expect(existsSync(join(dir, 'post-hf'))).toBe(false);

    const busy = join(dir, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'keep.txt'), 'mine');
    lines.length = 0;
    await run(['export', '--checkpoint', join(dir, 'run'), '--out', busy]);
    expect(lines.join('\n')).toMatch(/--out .*busy already holds files; pass --force/);
    expect(await main(['export', '--checkpoint', join(dir, 'run'), '--out', busy, '--force'])).toBe(0);
    expect(readFileSync(join(busy, 'keep.txt'), 'utf8')).toBe('mine');

    lines.length = 0;
    await run(['export', '--checkpoint', join(dir, 'hf'), '--out', join(dir, 'again')]);
    expect(lines.join('\n')).toMatch(/is already a Hugging Face folder/);
    process.exitCode = undefined;
  });
});
