import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad } from '@tinyformer/autograd';
import { tensor } from '@tinyformer/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_VERSION, checkOptimizerState, decodeCheckpoint, loadWeights } from './checkpoint.js';
import { DecoderLM } from './decoder-lm.js';
import { loadCheckpoint, readCheckpoint, readFileChecked, saveCheckpoint, writeFileAtomic } from './node.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';
import { type Batch, Trainer } from './trainer.js';

const dir = mkdtempSync(join(tmpdir(), 'tinyformer-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (name = 'ckpt') => join(dir, `${name}-${n++}.safetensors`);

const config = { vocabSize: 10, contextLength: 8, dModel: 8, nLayers: 2, nHeads: 2 };

function makeModel(extra: object = {}, seed = 1): DecoderLM {
  const m = new DecoderLM({ ...config, ...extra }, { seed });
  // move the weights off their init values so a model rebuilt from the config alone would differ
  for (const p of m.parameters()) p.setValues(p.dataSync().map((v, i) => v * 10 + 0.01 * Math.cos(i)));
  return m;
}

function logits(m: DecoderLM): Float32Array {
  const ids = tensor(Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]), [2, 6]);
  return noGrad(() => m.forward(ids)).dataSync();
}

function batches(): () => Batch {
  let k = 0;
  return () => {
    const x = new Int32Array(16);
    const y = new Int32Array(16);
    for (let i = 0; i < 16; i++) {
      x[i] = (i * 3 + k) % 10;
      y[i] = (i * 3 + k + 1) % 10;
    }
    k++;
    return { x, y, batchSize: 2, contextLength: 8 };
  };
}

/** Parses the file the way any safetensors reader would. */
function parseHeader(bytes: Uint8Array): { headerLen: number; header: Record<string, any> } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(buf.readBigUInt64LE(0));
  return { headerLen, header: JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) };
}

/** The CheckpointError thrown by fn (fails the test when none is thrown). */
function checkpointError(fn: () => unknown): CheckpointError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  return expect.fail('expected a CheckpointError');
}

describe('save / load round trip', () => {
  for (const [name, extra] of [
    ['defaults', {}],
    [
      'learned, untied, layernorm, bias, qk-norm',
      { positional: 'learned', tieEmbeddings: false, norm: { kind: 'layernorm' }, bias: true, qkNorm: true },
    ],
  ] as const) {
    it(`${name}: a loaded model gives bit-identical logits`, async () => {
      const m = makeModel(extra);
      const path = fresh();
      await saveCheckpoint(path, m, { meta: { vocab: ['a', 'b'], step: 17 } });
      const loaded = loadCheckpoint(path);
      expect(loaded.config).toEqual(m.config);
      expect(loaded.version).toBe(CHECKPOINT_VERSION);
      expect(loaded.meta).toEqual({ vocab: ['a', 'b'], step: 17 });
      expect(loaded.optimizer).toBeNull();
      expect(Array.from(logits(loaded.model))).toEqual(Array.from(logits(m)));
      for (const [pn, p] of loaded.model.namedParameters()) {
        expect(Array.from(p.dataSync()), pn).toEqual(Array.from(loaded.weights.get(pn)!.data));
      }
      // the rebuilt-from-config model alone would not match: the weights really came from the file
      expect(Array.from(logits(new DecoderLM(m.config)))).not.toEqual(Array.from(logits(m)));
    });
  }

  it('optimizer state round trip: a restored trainer continues bit for bit', async () => {
    const schedule = { lr: 1e-2, warmup: 2, decaySteps: 20, minLr: 1e-3 };
    const m = makeModel();
    const t = new Trainer(m, { schedule });
    const next = batches();
    await t.trainStep(next);
    await t.trainStep(next);
    const path = fresh();
    await saveCheckpoint(path, m, { optimizer: t.optimizer, meta: { step: t.step } });

    const c = readCheckpoint(path);
    expect(c.optimizer!.step).toBe(2);
    const st = await t.optimizer.getState();
    expect(Object.keys(c.optimizer!.m).sort()).toEqual(
      m
        .namedParameters()
        .map(([k]) => k)
        .sort(),
    );
    for (const [k, v] of Object.entries(st.m)) expect(Array.from(c.optimizer!.m[k]!)).toEqual(Array.from(v));
    for (const [k, v] of Object.entries(st.v)) expect(Array.from(c.optimizer!.v[k]!)).toEqual(Array.from(v));
    // optimizer tensors are not mistaken for weights
    expect([...c.weights.keys()].sort()).toEqual(
      m
        .namedParameters()
        .map(([k]) => k)
        .sort(),
    );
    checkOptimizerState(m, c.optimizer!, path);

    const { model: m2 } = loadCheckpoint(path);
    const t2 = new Trainer(m2, { schedule });
    t2.optimizer.loadState(c.optimizer!);
    t2.step = c.meta.step as number;
    const b = next();
    const r1 = await t.trainStep(() => b);
    const r2 = await t2.trainStep(() => b);
    expect(r2).toEqual(r1);
    m.parameters().forEach((p, i) => {
      expect(Array.from(m2.parameters()[i]!.dataSync())).toEqual(Array.from(p.dataSync()));
    });
  });

  it('checkOptimizerState names a parameter whose state is missing', async () => {
    const m = makeModel();
    const t = new Trainer(m, { schedule: { lr: 1e-3, warmup: 0, decaySteps: 10, minLr: 1e-4 } });
    const st = await t.optimizer.getState();
    delete st.m['blocks.1.ffn.w2.weight'];
    expect(() => checkOptimizerState(m, st, 'x.safetensors')).toThrow(
      'checkpoint x.safetensors: has no (or wrongly sized) optimizer state for "blocks.1.ffn.w2.weight"',
    );
  });
});

describe('the file is valid safetensors', () => {
  it('8-byte LE header length, JSON header with F32 dtype/shape/offsets and string metadata, raw LE data', async () => {
    const m = makeModel();
    const path = fresh();
    await saveCheckpoint(path, m, { meta: { note: 'hi' } });
    const buf = readFileSync(path);
    const { headerLen, header } = parseHeader(buf);
    expect((8 + headerLen) % 8).toBe(0); // data is 8-byte aligned
    const meta = header.__metadata__ as Record<string, unknown>;
    for (const v of Object.values(meta)) expect(typeof v).toBe('string');
    expect(meta.format).toBe('tinyformer');
    expect(meta.format_version).toBe('1');
    expect(JSON.parse(meta.config as string)).toEqual(m.config);
    expect(JSON.parse(meta.meta as string)).toEqual({ note: 'hi' });

    const entries = Object.entries(header).filter(([k]) => k !== '__metadata__');
    expect(entries.map(([k]) => k).sort()).toEqual(
      m
        .namedParameters()
        .map(([k]) => k)
        .sort(),
    );
    let end = 0;
    const params = new Map(m.namedParameters());
    for (const [name, info] of entries.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0])) {
      expect(info.dtype).toBe('F32');
      const p = params.get(name)!;
      expect(info.shape).toEqual([...p.shape]);
      const [b0, b1] = info.data_offsets as [number, number];
      expect(b0).toBe(end);
      expect(b1 - b0).toBe(p.size * 4);
      end = b1;
      const vals = p.dataSync();
      for (let i = 0; i < p.size; i++) expect(buf.readFloatLE(8 + headerLen + b0 + i * 4)).toBe(vals[i]);
    }
    expect(8 + headerLen + end).toBe(buf.length);
  });

  it('encode / decode round trip, including an empty tensor and no metadata', () => {
    const t = new Map<string, NamedTensor>([
      ['a', { shape: [2, 2], data: Float32Array.from([1, -2, 3.5, 1e-30]) }],
      ['empty', { shape: [0, 3], data: new Float32Array(0) }],
      ['s', { shape: [], data: Float32Array.from([7]) }],
    ]);
    const d = decodeSafetensors(encodeSafetensors(t, {}), 'mem');
    expect(d.metadata).toEqual({});
    expect([...d.tensors.keys()]).toEqual(['a', 'empty', 's']);
    for (const [k, v] of t) {
      expect(d.tensors.get(k)!.shape).toEqual(v.shape);
      expect(Array.from(d.tensors.get(k)!.data)).toEqual(Array.from(v.data));
    }
  });
});

describe('damaged and foreign files are refused, naming the file and the problem', () => {
  it('truncated at several points', async () => {
    const path = fresh('full');
    await saveCheckpoint(path, makeModel());
    const buf = readFileSync(path);
    const { headerLen } = parseHeader(buf);
    const cuts = [
      0,
      3,
      7,
      8,
      12,
      8 + headerLen - 1,
      8 + headerLen,
      8 + headerLen + 5,
      8 + headerLen + 256,
      buf.length - 4,
      buf.length - 1,
    ];
    for (const cut of cuts) {
      const p = fresh('cut');
      writeFileSync(p, buf.subarray(0, cut));
      const e = checkpointError(() => readCheckpoint(p));
      expect(e.file).toBe(p);
      expect(e.message.startsWith(`checkpoint ${p}: `), e.message).toBe(true);
      expect(e.message, `cut at ${cut}`).toMatch(/truncated/);
      expect(() => loadCheckpoint(p)).toThrow(CheckpointError);
    }
  });

  it('trailing garbage after the data', async () => {
    const path = fresh();
    await saveCheckpoint(path, makeModel());
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from('xyz')]));
    expect(() => readCheckpoint(path)).toThrow(
      `checkpoint ${path}: has 3 trailing bytes after the last tensor (corrupted)`,
    );
  });

  it('wrong magic / garbage header', () => {
    const png = fresh('png');
    writeFileSync(
      png,
      Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100)]),
    );
    expect(() => readCheckpoint(png)).toThrow(
      new RegExp(`^checkpoint ${png}: header length \\d+ does not fit a 108-byte file`),
    );

    const notJson = fresh('notjson');
    const h = Buffer.from('{"this is": not json}   ');
    const lenBuf = Buffer.alloc(8);
    lenBuf.writeBigUInt64LE(BigInt(h.length));
    writeFileSync(notJson, Buffer.concat([lenBuf, h]));
    expect(() => readCheckpoint(notJson)).toThrow(`checkpoint ${notJson}: header is not valid JSON`);

    const arr = fresh('array');
    const a = Buffer.from('[1,2,3]');
    lenBuf.writeBigUInt64LE(BigInt(a.length));
    writeFileSync(arr, Buffer.concat([lenBuf, a]));
    expect(() => readCheckpoint(arr)).toThrow(`checkpoint ${arr}: header is not a JSON object`);

    const zero = fresh('zero');
    writeFileSync(zero, Buffer.alloc(64));
    expect(() => readCheckpoint(zero)).toThrow(/header length 0 does not fit/);
  });

  it('a safetensors file that is not ours, or whose stored config is invalid', () => {
    const foreign = fresh('foreign');
    writeFileSync(
      foreign,
      encodeSafetensors(new Map([['w', { shape: [1], data: Float32Array.from([1]) }]]), { format: 'pt' }),
    );
    expect(() => readCheckpoint(foreign)).toThrow(
      `checkpoint ${foreign}: is not a tinyformer checkpoint (metadata format "pt")`,
    );

    const badConfig = fresh('badconfig');
    const meta = {
      format: 'tinyformer',
      format_version: '1',
      config: JSON.stringify({ ...config, nHeads: 3 }),
      optimizer_step: '-1',
      meta: '{}',
    };
    writeFileSync(badConfig, encodeSafetensors(new Map(), meta));
    const e = checkpointError(() => readCheckpoint(badConfig));
    expect(e.message).toContain(`checkpoint ${badConfig}: invalid config stored in the checkpoint`);
    expect(e.message).toContain('nHeads: dModel 8 must be divisible by nHeads 3');

    const badJson = fresh('badjson');
    writeFileSync(badJson, encodeSafetensors(new Map(), { ...meta, config: '{oops' }));
    expect(() => readCheckpoint(badJson)).toThrow(`checkpoint ${badJson}: its config/meta metadata is not valid JSON`);
  });

  it('a future format_version is refused with an upgrade hint; a nonsense one too', () => {
    const m = makeModel();
    const tensors = new Map(m.namedParameters().map(([k, p]) => [k, { shape: [...p.shape], data: p.dataSync() }]));
    const meta = { format: 'tinyformer', config: JSON.stringify(m.config), optimizer_step: '-1', meta: '{}' };
    const future = fresh('future');
    writeFileSync(future, encodeSafetensors(tensors, { ...meta, format_version: '2' }));
    expect(() => readCheckpoint(future)).toThrow(
      `checkpoint ${future}: was written by a newer tinyformer (format version 2; this one reads up to 1): upgrade to load it`,
    );
    const weird = fresh('weird');
    writeFileSync(weird, encodeSafetensors(tensors, { ...meta, format_version: 'one' }));
    expect(() => readCheckpoint(weird)).toThrow(`checkpoint ${weird}: has an invalid format version one`);
    // the same tensors with the current version load fine
    const ok = fresh('ok');
    writeFileSync(ok, encodeSafetensors(tensors, { ...meta, format_version: '1' }));
    expect(Array.from(logits(loadCheckpoint(ok).model))).toEqual(Array.from(logits(m)));
  });

  it('a stored config that claims more than the file holds is refused before any model is built (issue 15 no. 1)', () => {
    const m = makeModel();
    const tensors = new Map(m.namedParameters().map(([k, p]) => [k, { shape: [...p.shape], data: p.dataSync() }]));
    const meta = (config: object) => ({
      format: 'tinyformer',
      format_version: '1',
      config: JSON.stringify(config),
      optimizer_step: '-1',
      meta: '{}',
    });
    const bytes = encodeSafetensors(tensors, meta({ ...m.config, nLayers: 1000 }));
    const t0 = performance.now();
    expect(() => decodeCheckpoint(bytes, 'liar.safetensors')).toThrow(
      /^checkpoint liar.safetensors: is missing parameter "blocks\.\d+\.norm1\.weight" \[8\] that the config requires \(the config implies \d+ parameters, the file holds \d+\)$/,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    // sizes beyond the limits never reach an allocation: a config error names the field
    expect(() => decodeCheckpoint(encodeSafetensors(tensors, meta({ ...m.config, dModel: 2 ** 20 })), 'wide')).toThrow(
      /dModel: Too big: expected number to be <=65536/,
    );
    expect(() =>
      decodeCheckpoint(encodeSafetensors(tensors, meta({ ...m.config, vocabSize: 1_000_000, dModel: 4096 })), 'vocab'),
    ).toThrow(/the model would have about .* parameters; the limit is 2\^31/);
  });

  it('only regular files up to 2 GiB are read, at once: a FIFO gets a named error instead of a hang (issue 15 no. 7)', () => {
    const fifo = fresh('fifo');
    execFileSync('mkfifo', [fifo]);
    const t0 = performance.now();
    expect(() => readFileChecked(fifo)).toThrow(
      `checkpoint ${fifo}: is not a regular file (a pipe, socket or device?)`,
    );
    expect(() => loadCheckpoint(fifo)).toThrow('is not a regular file');
    expect(performance.now() - t0).toBeLessThan(1000);
    // a 2.5 GiB (sparse) file is refused from its size, before any read
    const big = fresh('big');
    execFileSync('truncate', ['-s', '2560M', big]);
    expect(() => readFileChecked(big)).toThrow(
      `checkpoint ${big}: is 2.50 GiB; checkpoints over 2 GiB are not supported (a model that large does not train here)`,
    );
    rmSync(big);
  });

  it('a header length over the 100 MB limit is refused before it is read', () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, 200_000_000n, true);
    // the length also exceeds this tiny file; a real 300 MB file with such a header is refused the same way
    const big = new Uint8Array(8);
    new DataView(big.buffer).setBigUint64(0, 100_000_001n, true);
    const padded = new Uint8Array(100_000_020);
    padded.set(big);
    expect(() => decodeSafetensors(padded, 'huge-header')).toThrow(
      'checkpoint huge-header: header length 100000001 is over the 100 MB limit',
    );
    expect(() => decodeSafetensors(bytes, 'short')).toThrow('does not fit');
  });

  it('a header that parses but whose shapes disagree with the config', () => {
    const m = makeModel();
    const base = () => new Map(m.namedParameters().map(([k, p]) => [k, { shape: [...p.shape], data: p.dataSync() }]));
    const meta = {
      format: 'tinyformer',
      format_version: '1',
      config: JSON.stringify(m.config),
      optimizer_step: '-1',
      meta: '{}',
    };

    const reshaped = base();
    reshaped.get('blocks.0.attn.proj.weight')!.shape = [4, 16]; // same byte count, wrong shape
    const p1 = fresh('reshaped');
    writeFileSync(p1, encodeSafetensors(reshaped, meta));
    expect(() => loadCheckpoint(p1)).toThrow(
      `checkpoint ${p1}: parameter "blocks.0.attn.proj.weight" is [4,16] but the config needs [8,8]`,
    );

    const missing = base();
    missing.delete('finalNorm.weight');
    const p2 = fresh('missing');
    writeFileSync(p2, encodeSafetensors(missing, meta));
    expect(() => loadCheckpoint(p2)).toThrow(
      `checkpoint ${p2}: is missing parameter "finalNorm.weight" [8] that the config requires`,
    );

    const extra = base();
    extra.set('lmHead', { shape: [10, 8], data: new Float32Array(80) });
    const p3 = fresh('extra');
    writeFileSync(p3, encodeSafetensors(extra, meta));
    expect(() => loadCheckpoint(p3)).toThrow(
      `checkpoint ${p3}: has a parameter "lmHead" that this model config does not have`,
    );

    // a header whose shape disagrees with its own byte range
    const buf = encodeSafetensors(base(), meta);
    const { headerLen, header } = parseHeader(buf);
    header['blocks.0.attn.proj.weight'].shape = [8, 9];
    let json = JSON.stringify(header);
    json += ' '.repeat(Math.max(0, headerLen - Buffer.byteLength(json)));
    expect(Buffer.byteLength(json)).toBe(headerLen);
    const p4 = fresh('lying');
    writeFileSync(p4, Buffer.concat([buf.subarray(0, 8), Buffer.from(json), buf.subarray(8 + headerLen)]));
    expect(() => readCheckpoint(p4)).toThrow(
      `checkpoint ${p4}: tensor "blocks.0.attn.proj.weight" shape [8,9] needs 288 bytes, offsets give 256`,
    );
  });

  it('loading weights into a model with another vocabSize names the parameter and both shapes', async () => {
    const m = makeModel();
    const path = fresh('vocab');
    await saveCheckpoint(path, m);
    const c = readCheckpoint(path);
    const other = new DecoderLM({ ...config, vocabSize: 12 });
    const before = other.wte.weight.dataSync();
    expect(() => loadWeights(other, c.weights, path)).toThrow(
      `checkpoint ${path}: parameter "wte.weight" is [10,8] but the config needs [12,8]`,
    );
    // nothing was half-loaded: every shape is checked before any value is written
    expect(Array.from(other.wte.weight.dataSync())).toEqual(Array.from(before));
  });

  it('a missing file or a directory', () => {
    const missing = join(dir, 'nope.safetensors');
    expect(() => readCheckpoint(missing)).toThrow(`checkpoint ${missing}: does not exist`);
    expect(() => readFileChecked(dir)).toThrow(`checkpoint ${dir}: is a directory, not a checkpoint file`);
  });
});

describe('writeFileAtomic', () => {
  it('writes, replaces by rename (a new inode) and leaves no temp files', () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const target = join(sub, 'out.bin');
    writeFileAtomic(target, 'first version');
    expect(readFileSync(target, 'utf8')).toBe('first version');
    const ino = statSync(target).ino;
    writeFileAtomic(target, Buffer.from('second'));
    expect(readFileSync(target, 'utf8')).toBe('second');
    // replaced by rename, not rewritten in place: a reader holding the old file keeps a complete old version
    expect(statSync(target).ino).not.toBe(ino);
    expect(readdirSync(sub)).toEqual(['out.bin']);
  });

  it('a failed write leaves the old target untouched and no temp file', () => {
    const sub = mkdtempSync(join(dir, 'atomic-fail-'));
    // the target is a non-empty directory: the final rename fails
    const target = join(sub, 'taken');
    mkdirSync(target);
    writeFileSync(join(target, 'keep.txt'), 'keep');
    expect(() => writeFileAtomic(target, 'data')).toThrow();
    expect(readdirSync(sub)).toEqual(['taken']);
    expect(readFileSync(join(target, 'keep.txt'), 'utf8')).toBe('keep');
    // a missing directory fails before anything is written
    expect(() => writeFileAtomic(join(sub, 'no', 'such', 'f'), 'x')).toThrow();
    expect(readdirSync(sub)).toEqual(['taken']);
  });

  it('saveCheckpoint over an existing checkpoint replaces it completely', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-ckpt-'));
    const target = join(sub, 'model.safetensors');
    await saveCheckpoint(target, makeModel({}, 1));
    const m2 = makeModel({}, 2);
    await saveCheckpoint(target, m2);
    expect(readdirSync(sub)).toEqual(['model.safetensors']);
    expect(Array.from(logits(loadCheckpoint(target).model))).toEqual(Array.from(logits(m2)));
  });
});
