import { noGrad } from '@tinyformer/autograd';
import { getBackend, Rng, tensor } from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import type { ModelConfigInput } from './config.js';
import { DecoderLM } from './decoder-lm.js';
import { type GenerateOptions, generate } from './generate.js';
import { SamplingError, sampleToken, validateSampling } from './sampling.js';

const V = 12;
const CTX = 8;

function makeModel(config: Partial<ModelConfigInput> = {}, seed = 1): DecoderLM {
  const m = new DecoderLM({ vocabSize: V, contextLength: CTX, dModel: 16, nLayers: 2, nHeads: 2, ...config }, { seed });
  // std 0.02 gives near-uniform logits; larger weights give a model with opinions (and distinct argmaxes)
  for (const p of m.parameters()) if (p.rank === 2) p.setValues(p.dataSync().map((v) => v * 25));
  return m;
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Greedy decoding by hand: full forward over the last CTX tokens, argmax of the last row. */
function greedyByHand(m: DecoderLM, prompt: number[], n: number): number[] {
  const seq = [...prompt];
  for (let i = 0; i < n; i++) {
    const window = seq.slice(-CTX);
    const logits = noGrad(() => m.forward(tensor(Int32Array.from(window), [1, window.length]))).dataSync();
    seq.push(argmax(logits.subarray((window.length - 1) * V)));
  }
  return seq.slice(prompt.length);
}

describe('generate', () => {
  const model = makeModel();
  const prompt = [1, 5, 2];

  it('is deterministic for a seed; different seeds give different samples', async () => {
    const opts: GenerateOptions = { maxTokens: 12, seed: 42, temperature: 1.5 };
    const a = await generate(model, prompt, opts);
    const b = await generate(model, prompt, opts);
    expect(a).toHaveLength(12);
    expect(b).toEqual(a);
    const others = await Promise.all([1, 2, 3, 4].map((seed) => generate(model, prompt, { ...opts, seed })));
    expect(new Set([a, ...others].map((s) => s.join(','))).size).toBeGreaterThan(1);
    for (const s of [a, ...others]) for (const t of s) expect(t >= 0 && t < V && Number.isInteger(t)).toBe(true);
  });

  it('temperature <= 0 is greedy: the argmax of the forward logits at every step', async () => {
    const want = greedyByHand(model, prompt, 5);
    expect(await generate(model, prompt, { maxTokens: 5, temperature: 0 })).toEqual(want);
    expect(await generate(model, prompt, { maxTokens: 5, temperature: -1, seed: 9 })).toEqual(want);
    // greedy is not trivially constant for this model
    expect(new Set(want).size).toBeGreaterThan(1);
  });

  it('topK = 1 equals greedy, for any seed and temperature', async () => {
    const want = greedyByHand(model, prompt, 5);
    for (const seed of [0, 1, 2]) {
      expect(await generate(model, prompt, { maxTokens: 5, topK: 1, seed, temperature: 3 })).toEqual(want);
    }
  });

  it('a tiny topP equals greedy', async () => {
    const want = greedyByHand(model, prompt, 5);
    for (const seed of [0, 1]) {
      expect(await generate(model, prompt, { maxTokens: 5, topP: 1e-9, seed, temperature: 2 })).toEqual(want);
    }
  });

  for (const positional of ['rope', 'learned'] as const) {
    it(`${positional}: a prompt longer than the context slides the window; cache and no cache agree (greedy)`, async () => {
      const m = makeModel({ positional }, 2);
      const long = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]; // 12 > CTX
      const want = greedyByHand(m, long, 10);
      expect(await generate(m, long, { maxTokens: 10, temperature: 0, useCache: true })).toEqual(want);
      expect(await generate(m, long, { maxTokens: 10, temperature: 0, useCache: false })).toEqual(want);
    });

    it(`${positional}: a short prompt decoded past the context length: cache and no cache agree (greedy)`, async () => {
      const m = makeModel({ positional }, 3);
      const want = greedyByHand(m, [7], 20);
      const cached = await generate(m, [7], { maxTokens: 20, temperature: 0 });
      const uncached = await generate(m, [7], { maxTokens: 20, temperature: 0, useCache: false });
      expect(cached).toEqual(want);
      expect(uncached).toEqual(want);
    });
  }

  it('cache and no cache agree when sampling too (same seed, same logits)', async () => {
    const opts = { maxTokens: 16, temperature: 1, seed: 7 };
    expect(await generate(model, prompt, opts)).toEqual(await generate(model, prompt, { ...opts, useCache: false }));
  });

  it('streams every token to onToken in order; maxTokens 0 gives nothing', async () => {
    const seen: number[] = [];
    const out = await generate(model, prompt, { maxTokens: 6, seed: 3, onToken: (t) => seen.push(t) });
    expect(seen).toEqual(out);
    expect(await generate(model, prompt, { maxTokens: 0 })).toEqual([]);
  });

  it('releases what it allocates (the cache is cleared afterwards)', async () => {
    await generate(model, prompt, { maxTokens: 3 });
    const before = getBackend().memory().buffers;
    await generate(model, prompt, { maxTokens: 12 });
    expect(getBackend().memory().buffers).toBe(before);
  });

  describe('bad options throw SamplingError with clear messages', () => {
    const cases: [string, number[], Partial<GenerateOptions>, RegExp][] = [
      ['topK < 0', prompt, { topK: -1 }, /^topK must be an integer in \[0, 12\] \(0 = off\), got -1$/],
      ['topK > vocab', prompt, { topK: 13 }, /topK must be an integer in \[0, 12\].*got 13/],
      ['topK fractional', prompt, { topK: 1.5 }, /topK .*got 1\.5/],
      ['topP 0', prompt, { topP: 0 }, /^topP must be in \(0, 1\], got 0$/],
      ['topP < 0', prompt, { topP: -0.5 }, /topP must be in \(0, 1\], got -0\.5/],
      ['topP > 1', prompt, { topP: 1.01 }, /topP must be in \(0, 1\], got 1\.01/],
      ['topP NaN', prompt, { topP: Number.NaN }, /topP must be in \(0, 1\], got NaN/],
      ['temperature NaN', prompt, { temperature: Number.NaN }, /temperature must be a finite number, got NaN/],
      ['temperature Infinity', prompt, { temperature: Number.POSITIVE_INFINITY }, /temperature .*Infinity/],
      ['empty prompt', [], {}, /^the prompt is empty: give at least one token$/],
      ['token >= vocab', [1, 12], {}, /^prompt token 12 at 1 is outside \[0, 12\)$/],
      ['negative token', [-1], {}, /prompt token -1 at 0 is outside \[0, 12\)/],
      ['fractional token', [2.5], {}, /prompt token 2\.5 at 0/],
      ['maxTokens < 0', prompt, { maxTokens: -1 }, /maxTokens must be an integer >= 0, got -1/],
    ];
    for (const [name, p, o, re] of cases) {
      it(name, async () => {
        const run = generate(model, p, { maxTokens: 3, ...o });
        await expect(run).rejects.toBeInstanceOf(SamplingError);
        await expect(generate(model, p, { maxTokens: 3, ...o })).rejects.toThrow(re);
      });
    }

    it('the boundary values are accepted', async () => {
      for (const o of [{ topK: 0 }, { topK: V }, { topP: 1 }, { temperature: 0 }]) {
        expect(() => validateSampling(o, V)).not.toThrow();
        await expect(generate(model, prompt, { maxTokens: 1, ...o })).resolves.toHaveLength(1);
      }
    });
  });
});

describe('sampleToken', () => {
  // probabilities 0.5, 0.25, 0.15, 0.1 (in a shuffled order)
  const probs = [0.15, 0.5, 0.1, 0.25];
  const logits = Float32Array.from(probs.map(Math.log));

  function histogram(o: Parameters<typeof sampleToken>[1], n = 4000, seed = 1): number[] {
    const rng = new Rng(seed);
    const h = new Array(probs.length).fill(0);
    for (let i = 0; i < n; i++) h[sampleToken(logits, o, rng)]++;
    return h.map((c) => c / n);
  }

  it('temperature 1 samples the softmax distribution', () => {
    const h = histogram({});
    probs.forEach((p, i) => {
      expect(Math.abs(h[i]! - p)).toBeLessThan(0.03);
    });
  });

  it('topK keeps only the k most likely tokens, renormalized', () => {
    const h = histogram({ topK: 2 });
    expect(h[0]).toBe(0);
    expect(h[2]).toBe(0);
    expect(Math.abs(h[1]! - 0.5 / 0.75)).toBeLessThan(0.03);
    expect(Math.abs(h[3]! - 0.25 / 0.75)).toBeLessThan(0.03);
  });

  it('topP keeps the smallest set reaching the cumulative probability', () => {
    const h = histogram({ topP: 0.7 }); // 0.5 + 0.25 >= 0.7
    expect(h[0]).toBe(0);
    expect(h[2]).toBe(0);
    expect(h[1]! + h[3]!).toBe(1);
    expect(histogram({ topP: 0.4 })[1]).toBe(1); // 0.5 alone reaches 0.4
  });

  it('a low temperature sharpens, a high one flattens', () => {
    expect(histogram({ temperature: 0.1 })[1]).toBeGreaterThan(0.99);
    const flat = histogram({ temperature: 100 });
    for (const f of flat) expect(Math.abs(f - 0.25)).toBeLessThan(0.03);
  });

  it('greedy picks the first maximum', () => {
    expect(sampleToken(Float32Array.from([1, 3, 3, 2]), { temperature: 0 }, new Rng(0))).toBe(1);
  });
});
