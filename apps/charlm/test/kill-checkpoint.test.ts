// Reliability: a kill at any moment of a checkpoint write never leaves a half-written checkpoint in place of a good
// one. Children write checkpoints in a loop (test/fixtures/checkpoint-writer.mjs, through the built
// @tinyformer/model) and are SIGKILLed at random moments, 20 times; after every kill the checkpoint must load, and
// the temp file a killed write leaves behind is ignored by readers and removed by the next write.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpoint, writeFileAtomic } from '@tinyformer/model/node';
import { expect, it } from 'vitest';

const WRITER = join(import.meta.dirname, 'fixtures', 'checkpoint-writer.mjs');
const KILLS = 20;
const PARALLEL = 4;

/** Starts a writer on `file`, waits for its first complete checkpoint, kills it after a random 0-40 ms. */
async function writeAndKill(file: string, rand: () => number): Promise<void> {
  const child = spawn(process.execPath, [WRITER, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      if (String(d).includes('ready')) resolve();
    });
    child.on('close', () => reject(new Error(`the writer exited before its first checkpoint: ${err}`)));
  });
  await new Promise((r) => setTimeout(r, rand() * 40));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
}

it(`${KILLS} SIGKILLs during checkpoint writes: the checkpoint always loads; temp files are ignored, then cleaned`, async () => {
  const root = mkdtempSync(join(tmpdir(), 'charlm-kill-'));
  // a fixed-seed generator: the kill moments differ from kill to kill, and from run to run only by timing
  let s = 12345;
  const rand = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  let midWrite = 0;
  let maxTemps = 0;
  const lane = async (k: number) => {
    const folder = join(root, `lane-${k}`);
    mkdirSync(folder);
    const file = join(folder, 'checkpoint.safetensors');
    for (let i = 0; i < KILLS / PARALLEL; i++) {
      await writeAndKill(file, rand);
      const left = readdirSync(folder).filter((n) => n.includes('.tmp-'));
      if (left.length > 0) midWrite++;
      // the next writer removed the temp file of the one killed before it
      maxTemps = Math.max(maxTemps, left.length);
      const ck = readCheckpoint(file); // throws on a half-written file
      expect(Number.isInteger(ck.meta.step)).toBe(true);
      expect(ck.weights.get('wte.weight')!.shape).toEqual([64, 128]);
    }
    // one more write removes what the last killed writer left
    writeFileAtomic(file, readFileSync(file));
    expect(readdirSync(folder)).toEqual(['checkpoint.safetensors']);
    readCheckpoint(file);
  };
  await Promise.all(Array.from({ length: PARALLEL }, (_, k) => lane(k)));
  expect(maxTemps).toBeLessThanOrEqual(1);
  // about half the kills land between the temp file's open and its rename; at least one must, or this proves little
  console.log(`kill-checkpoint: ${midWrite} of ${KILLS} kills left a temp file (landed mid-write)`);
  expect(midWrite).toBeGreaterThan(0);
}, 30_000);
