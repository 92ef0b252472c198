import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  findNonFinite,
  loadCheckpointFromResponse,
  parseCheckpoint,
} from './checkpoint.js';
import { DecoderLM } from './decoder-lm.js';
import { loadCheckpoint, saveCheckpoint } from './node.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { Trainer } from './trainer.js';

const dir = mkdtempSync(join(tmpdir(), 'tinyformer-ckpt-bytes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// written by saveCheckpoint before checkpoints could be encoded to bytes; the model and state below rebuild it
const FIXTURE = join(import.meta.dirname, '../test/fixtures/checkpoint-v1.safetensors');
const META = { vocab: ['a', 'é', '\n'], step: 5 };

/** The fixture's model and optimizer: values from integer arithmetic only, so every machine builds the same. */
function fixtureModel(): { model: DecoderLM; trainer: Trainer } {
  const model = new DecoderLM({ vocabSize: 10, contextLength: 8, dModel: 8, nLayers: 1, nHeads: 2 }, { seed: 3 });
  let k = 0;
  for (const p of model.parameters()) p.setValues(p.dataSync().map(() => ((k++ % 97) - 48) / 64));
  const trainer = new Trainer(model, { schedule: { lr: 1e-3, warmup: 0, decaySteps: 10, minLr: 1e-4 } });
  const m: Record<string, Float32Array> = {};
  const v: Record<string, Float32Array> = {};
  for (const [name, p] of model.namedParameters()) {
    m[name] = Float32Array.from({ length: p.size }, (_, i) => (i % 13) / 128);
    v[name] = Float32Array.from({ length: p.size }, (_, i) => (i % 7) / 1024);
  }
  trainer.optimizer.loadState({ step: 5, m, v });
  return { model, trainer };
}

function fakeResponse(bytes: Uint8Array, init: { ok?: boolean; status?: number; url?: string } = {}) {
  return {
    ok: init.ok ?? true,
    status: init.status ?? 200,
    statusText: init.ok === false ? 'Not Found' : 'OK',
    url: init.url ?? 'http://localhost/model.safetensors',
    arrayBuffer: async () => bytes.slice().buffer,
  };
}

describe('checkpoints as bytes', () => {
  it('encodeCheckpoint gives byte for byte the file saveCheckpoint writes, and the file written before this API', async () => {
    const { model, trainer } = fixtureModel();
    const bytes = await encodeCheckpoint(model, { optimizer: trainer.optimizer, meta: META });
    expect(bytes).toBeInstanceOf(Uint8Array);
    const path = join(dir, 'saved.safetensors');
    await saveCheckpoint(path, model, { optimizer: trainer.optimizer, meta: META });
    expect(Buffer.compare(readFileSync(path), bytes)).toBe(0);
    expect(Buffer.compare(readFileSync(FIXTURE), bytes)).toBe(0);
  });

  it('decodeCheckpoint loads the older file: same config, weights, optimizer state and meta as loadCheckpoint', () => {
    const fromFile = loadCheckpoint(FIXTURE);
    const fromBytes = decodeCheckpoint(new Uint8Array(readFileSync(FIXTURE)), 'fixture');
    expect(fromBytes.config).toEqual(fromFile.config);
    expect(fromBytes.meta).toEqual(META);
    expect(fromBytes.optimizer!.step).toBe(5);
    expect(fromBytes.optimizer).toEqual(fromFile.optimizer);
    const { model } = fixtureModel();
    for (const [name, p] of model.namedParameters()) {
      expect(
        Array.from(
          fromBytes.model
            .namedParameters()
            .find(([n]) => n === name)![1]
            .dataSync(),
        ),
        name,
      ).toEqual(Array.from(p.dataSync()));
    }
  });

  it('round trips through an ArrayBuffer, and through a subarray of a larger buffer', async () => {
    const { model } = fixtureModel();
    const bytes = await encodeCheckpoint(model);
    const viaBuffer = decodeCheckpoint(bytes.slice().buffer);
    expect(viaBuffer.optimizer).toBeNull();
    expect(viaBuffer.meta).toEqual({});
    const padded = new Uint8Array(bytes.length + 13);
    padded.set(bytes, 5);
    const viaView = parseCheckpoint(padded.subarray(5, 5 + bytes.length));
    for (const [name, p] of model.namedParameters()) {
      expect(Array.from(viaView.weights.get(name)!.data)).toEqual(Array.from(p.dataSync()));
    }
  });

  it('errors name the source given, or a default', () => {
    const bad = new Uint8Array(4);
    expect(() => decodeCheckpoint(bad, 'upload.safetensors')).toThrow(
      'checkpoint upload.safetensors: is 4 bytes: too short to be a safetensors file (truncated?)',
    );
    expect(() => parseCheckpoint(bad)).toThrow(/^checkpoint checkpoint bytes: is 4 bytes/);
  });

  it('loadCheckpointFromResponse reads the body and names the URL in errors', async () => {
    const bytes = new Uint8Array(readFileSync(FIXTURE));
    const { meta, config } = await loadCheckpointFromResponse(fakeResponse(bytes));
    expect(meta).toEqual(META);
    expect(config.dModel).toBe(8);
    // a real Response (global in Node 18+) fits the parameter type too
    const real = await loadCheckpointFromResponse(new Response(bytes));
    expect(real.meta).toEqual(META);
    await expect(loadCheckpointFromResponse(fakeResponse(bytes.subarray(0, 100)))).rejects.toThrow(
      /^checkpoint http:\/\/localhost\/model\.safetensors: .*truncated/,
    );
    await expect(loadCheckpointFromResponse(fakeResponse(bytes, { ok: false, status: 404 }))).rejects.toThrow(
      new CheckpointError('http://localhost/model.safetensors', 'HTTP 404 Not Found').message,
    );
  });
});

describe('safetensors bytes', () => {
  it('encodes to a plain Uint8Array with an 8-byte aligned data start', () => {
    const out = encodeSafetensors(new Map([['w', { shape: [3], data: Float32Array.from([1, 2, 3]) }]]), { a: 'b' });
    expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
    const headerLen = Number(new DataView(out.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    expect(out.length).toBe(8 + headerLen + 12);
  });

  it('encodes a tensor view at an offset of a larger buffer (only its own bytes)', () => {
    const big = Float32Array.from([9, 1, 2, 9]);
    const d = decodeSafetensors(encodeSafetensors(new Map([['w', { shape: [2], data: big.subarray(1, 3) }]]), {}), 'm');
    expect(Array.from(d.tensors.get('w')!.data)).toEqual([1, 2]);
  });

  it('"__proto__" as a tensor name or metadata key is an ordinary name: kept, and no prototype changes', () => {
    const t = new Map([['__proto__', { shape: [1], data: Float32Array.from([4]) }]]);
    const bytes = encodeSafetensors(t, JSON.parse('{"__proto__":"x","k":"v"}'));
    const d = decodeSafetensors(bytes, 'proto');
    expect(Array.from(d.tensors.get('__proto__')!.data)).toEqual([4]);
    expect(Object.getPrototypeOf(d.metadata)).toBe(Object.prototype);
    expect(Object.keys(d.metadata).sort()).toEqual(['__proto__', 'k']);
    expect(({} as Record<string, unknown>).k).toBeUndefined();
  });

  it('a model with a NaN or infinite weight is not encoded (unless allowNonFinite); findNonFinite names the first', async () => {
    const m = new DecoderLM({ vocabSize: 5, contextLength: 4, dModel: 4, nLayers: 1, nHeads: 1 }, { seed: 1 });
    const [name, p] = m.namedParameters()[3]!;
    const values = p.dataSync().slice();
    values[2] = Number.POSITIVE_INFINITY;
    p.setValues(values);
    await expect(encodeCheckpoint(m)).rejects.toThrow(
      `checkpoint not written: "${name}" holds Infinity at index 2 (the model diverged; a checkpoint holds finite values only)`,
    );
    const bytes = await encodeCheckpoint(m, { allowNonFinite: true });
    expect(findNonFinite(parseCheckpoint(bytes).weights)).toEqual({ name, index: 2, value: Number.POSITIVE_INFINITY });
    values[2] = Number.NaN;
    p.setValues(values);
    expect(findNonFinite(m.namedParameters().map(([n, q]) => [n, { data: q.dataSync() }] as const))?.name).toBe(name);
  });
});
