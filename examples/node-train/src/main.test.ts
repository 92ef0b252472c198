import { encodeCheckpoint, parseCheckpoint } from '@tinyformer/model';
import { describe, expect, it } from 'vitest';
import { lossDrop, roundTrip, TEXT, train } from './train.js';

describe.each(['rmsnorm-pre', 'layernorm-post'] as const)('node-train, %s', (layout) => {
  it('the loss falls within 30 steps; checkpoint bytes give back every weight bit for bit and the same logits', async () => {
    const { model, vocab, losses } = await train(layout, 30);
    expect(losses).toHaveLength(30);
    expect(losses.every(Number.isFinite)).toBe(true);
    const { first, last } = lossDrop(losses);
    // starts near ln(vocab); 30 steps on a repetitive text take off well over half a nat
    expect(first).toBeGreaterThan(Math.log(vocab.size) - 0.5);
    expect(last).toBeLessThan(first - 0.5);

    expect(model.config.norm.kind).toBe(layout === 'rmsnorm-pre' ? 'rmsnorm' : 'layernorm');
    expect(model.config.finalNorm).toBe(layout === 'rmsnorm-pre');

    const rt = await roundTrip(model, vocab);
    expect(rt.maxLogitDiff).toBe(0);
    expect(rt.model.config).toEqual(model.config);
    expect(rt.vocab.toJSON()).toEqual(vocab.toJSON());
    expect(rt.vocab.decode(rt.vocab.encode(TEXT))).toBe(TEXT);
    // the decoded model's own checkpoint is the same file, byte for byte
    const againBytes = await encodeCheckpoint(rt.model, { meta: { vocab: vocab.toJSON() } });
    expect(Buffer.compare(againBytes, rt.bytes)).toBe(0);
    // and, parsed, the same weights bit for bit, config and meta
    const again = parseCheckpoint(againBytes);
    const saved = parseCheckpoint(rt.bytes);
    expect(again.config).toEqual(saved.config);
    expect(again.meta).toEqual(saved.meta);
    expect([...again.weights.keys()]).toEqual([...saved.weights.keys()]);
    for (const [name, t] of saved.weights) {
      const u = again.weights.get(name)!;
      expect(u.shape).toEqual(t.shape);
      expect(new Uint8Array(u.data.buffer, u.data.byteOffset, u.data.byteLength)).toEqual(
        new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      );
    }
  }, 60_000);
});
