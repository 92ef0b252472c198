import { assertGradcheck, noGrad } from '@tinyformer/autograd';
import type { NormConfig } from '@tinyformer/norm';
import { concat, getBackend, Rng, randn, ShapeError, type Tensor, TensorError, tensor, tidy } from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { type AttentionConfig, CausalSelfAttention } from './attention.js';
import { KVCache, LayerKVCache } from './kv-cache.js';

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Tokens [t0, t0 + n) of a (B, T, C) tensor. */
function tokens(x: Tensor, t0: number, n: number): Tensor {
  const [B, , C] = x.shape as [number, number, number];
  return x.slice([0, t0, 0], [B, n, C]);
}

const VARIANTS: { name: string; config: AttentionConfig }[] = [
  { name: 'rope', config: { dModel: 16, nHeads: 4, positional: 'rope' } },
  { name: 'learned (no rotation in attention)', config: { dModel: 16, nHeads: 4, positional: 'learned' } },
  {
    name: 'rope + QK-norm (rmsnorm)',
    config: { dModel: 16, nHeads: 2, positional: 'rope', qkNorm: { kind: 'rmsnorm' } },
  },
  {
    name: 'learned + QK-norm (layernorm) + bias',
    config: { dModel: 12, nHeads: 3, positional: 'learned', qkNorm: { kind: 'layernorm' }, bias: true },
  },
  { name: 'rope, base 100', config: { dModel: 8, nHeads: 1, positional: 'rope', ropeBase: 100 } },
  {
    name: 'grouped-query, 4 heads / 2 KV heads, rope',
    config: { dModel: 16, nHeads: 4, nKvHeads: 2, positional: 'rope' },
  },
  {
    name: 'multi-query, 3 heads / 1 KV head, learned + QK-norm + bias',
    config: { dModel: 12, nHeads: 3, nKvHeads: 1, positional: 'learned', qkNorm: { kind: 'rmsnorm' }, bias: true },
  },
];

/** Larger-than-default weights so attention is far from uniform and position/caching errors show. */
function makeAttention(config: AttentionConfig, seed = 1): CausalSelfAttention {
  return new CausalSelfAttention(config, { rng: new Rng(seed), outStd: 0.5 });
}

function scaleWeights(a: CausalSelfAttention, s: number): void {
  for (const p of a.parameters()) if (p.rank === 2) p.setValues(p.dataSync().map((v) => v * s));
}

describe('KV cache', () => {
  for (const { name, config } of VARIANTS) {
    it(`${name}: decoding token by token with the cache equals the full forward pass`, () => {
      noGrad(() => {
        const attn = makeAttention(config);
        scaleWeights(attn, 10);
        const B = 2;
        const T = 7;
        const x = randn([B, T, config.dModel], { seed: 2 });
        const full = attn.forward(x).dataSync();
        const cache = new LayerKVCache();
        const steps: Tensor[] = [];
        for (let t = 0; t < T; t++) {
          expect(cache.length).toBe(t);
          steps.push(attn.forward(tokens(x, t, 1), cache));
        }
        expect(cache.length).toBe(T);
        expect(cache.k!.shape).toEqual([B, config.nKvHeads ?? config.nHeads, T, config.dModel / config.nHeads]);
        expect(maxDiff(concat(steps, 1).dataSync(), full)).toBeLessThan(1e-5);
        cache.clear();
        expect(cache.length).toBe(0);
      });
    });

    it(`${name}: prefill a chunk, then decode (single tokens and a 2-token chunk)`, () => {
      noGrad(() => {
        const attn = makeAttention(config, 3);
        scaleWeights(attn, 10);
        const x = randn([1, 8, config.dModel], { seed: 4 });
        const full = attn.forward(x).dataSync();
        const cache = new LayerKVCache();
        const parts = [attn.forward(tokens(x, 0, 4), cache)];
        parts.push(attn.forward(tokens(x, 4, 1), cache));
        parts.push(attn.forward(tokens(x, 5, 2), cache));
        parts.push(attn.forward(tokens(x, 7, 1), cache));
        expect(cache.length).toBe(8);
        expect(maxDiff(concat(parts, 1).dataSync(), full)).toBeLessThan(1e-5);
      });
    });
  }

  it('the cache actually matters: decoding without it gives different outputs (rope)', () => {
    noGrad(() => {
      const attn = makeAttention(VARIANTS[0]!.config);
      scaleWeights(attn, 10);
      const x = randn([1, 4, 16], { seed: 5 });
      const full = attn.forward(x).dataSync();
      const alone = attn.forward(tokens(x, 3, 1)).dataSync();
      expect(maxDiff(alone, full.subarray(3 * 16))).toBeGreaterThan(1e-3);
    });
  });

  it('KVCache holds one LayerKVCache per layer and refuses a bad layer count', () => {
    const c = new KVCache(3);
    expect(c.layers).toHaveLength(3);
    expect(c.length).toBe(0);
    expect(() => new KVCache(0)).toThrow('KVCache: nLayers must be positive, got 0');
    expect(() => new KVCache(1.5)).toThrow(TensorError);
  });

  it('cached keys and values survive tidy and are released by clear()', () => {
    const attn = makeAttention(VARIANTS[0]!.config);
    const x = randn([1, 3, 16], { seed: 6 });
    const cache = new LayerKVCache();
    noGrad(() => tidy(() => attn.forward(x, cache))).dispose();
    expect(cache.k!.isDisposed).toBe(false);
    expect(cache.v!.isDisposed).toBe(false);
    const before = getBackend().memory().buffers;
    noGrad(() => tidy(() => attn.forward(tokens(x, 2, 1), cache))).dispose();
    // the old k/v were replaced by the concatenated ones and freed: the live buffer count is unchanged
    expect(getBackend().memory().buffers).toBe(before);
    expect(cache.length).toBe(4);
    const k = cache.k!;
    cache.clear();
    expect(k.isDisposed).toBe(true);
    expect(cache.length).toBe(0);
  });
});

describe('causality', () => {
  for (const { name, config } of VARIANTS) {
    it(`${name}: the output at t does not change when tokens after t change`, () => {
      noGrad(() => {
        const attn = makeAttention(config, 7);
        scaleWeights(attn, 10);
        const T = 6;
        const C = config.dModel;
        const x = randn([2, T, C], { seed: 8 });
        const y = attn.forward(x).dataSync();
        for (let t = 0; t < T - 1; t++) {
          // replace every token after t with large different values
          const later = randn([2, T - t - 1, C], { seed: 100 + t, std: 50 });
          const x2 = concat([tokens(x, 0, t + 1), later], 1);
          const y2 = attn.forward(x2).dataSync();
          for (let b = 0; b < 2; b++) {
            const off = b * T * C;
            const a = y.subarray(off, off + (t + 1) * C);
            const c = y2.subarray(off, off + (t + 1) * C);
            expect(maxDiff(a, c)).toBeLessThan(1e-6);
            // ...while the changed positions do change (the perturbation is visible)
            expect(
              maxDiff(y.subarray(off + (t + 1) * C, off + T * C), y2.subarray(off + (t + 1) * C, off + T * C)),
            ).toBeGreaterThan(1e-3);
          }
        }
      });
    });
  }

  it('the first token attends only to itself: its output is proj(v_0)', () => {
    noGrad(() => {
      const attn = makeAttention({ dModel: 8, nHeads: 2, positional: 'rope' });
      const x = randn([1, 5, 8], { seed: 9 });
      const first = attn.forward(tokens(x, 0, 1)).dataSync();
      // with one token the softmax is exactly 1, so y = proj(v) where v is the last third of qkv(x)
      const v = attn.qkv.forward(tokens(x, 0, 1)).slice([0, 0, 16], [1, 1, 8]);
      expect(maxDiff(attn.proj.forward(v).dataSync(), first)).toBeLessThan(1e-6);
      expect(maxDiff(attn.forward(x).dataSync().subarray(0, 8), first)).toBeLessThan(1e-6);
    });
  });
});

describe('gradcheck of CausalSelfAttention (float64, B=1, T=3, dModel=4, nHeads=2)', () => {
  const spec = (shape: number[], seed: number, std = 1) => ({ values: randn(shape, { seed, std }).dataSync(), shape });
  const cases: { name: string; qkNorm?: NormConfig; positional: 'rope' | 'learned' }[] = [
    { name: 'rope', positional: 'rope' },
    { name: 'learned', positional: 'learned' },
    { name: 'rope + QK-norm', positional: 'rope', qkNorm: { kind: 'rmsnorm' } },
  ];
  for (const { name, qkNorm, positional } of cases) {
    it(`${name}: w.r.t. the input and both projection weights`, () => {
      // built inside fn: gradcheck runs fn on its float64 backend, and the layer's weights must live there too
      const build = () => new CausalSelfAttention({ dModel: 4, nHeads: 2, positional, qkNorm }, { rng: new Rng(11) });
      assertGradcheck((x) => build().forward(x), [spec([1, 3, 4], 12)]);
      assertGradcheck(
        (x, wqkv, wproj) => {
          const a = build();
          (a.qkv as unknown as { weight: Tensor }).weight = wqkv;
          (a.proj as unknown as { weight: Tensor }).weight = wproj;
          return a.forward(x);
        },
        [spec([1, 3, 4], 13), spec([12, 4], 14, 0.7), spec([4, 4], 15, 0.7)],
      );
    });
  }
});

describe('grouped-query attention', () => {
  /** The multi-head layer whose K and V rows repeat each KV head for its group of query heads (Llama's repeat_kv). */
  function expandToMultiHead(gqa: CausalSelfAttention): CausalSelfAttention {
    const { dModel, nHeads } = gqa.config;
    const hd = gqa.headDim;
    const g = nHeads / gqa.nKvHeads;
    const mha = new CausalSelfAttention({ ...gqa.config, nKvHeads: nHeads });
    const rows = (w: Float32Array, width: number) => {
      const out = new Float32Array(3 * dModel * width);
      out.set(w.subarray(0, dModel * width)); // q: unchanged
      for (const [part, src0] of [
        [1, dModel],
        [2, dModel + gqa.nKvHeads * hd],
      ] as const) {
        for (let h = 0; h < nHeads; h++) {
          const kvHead = Math.floor(h / g);
          const from = (src0 + kvHead * hd) * width;
          out.set(w.subarray(from, from + hd * width), (part * dModel + h * hd) * width);
        }
      }
      return out;
    };
    mha.qkv.weight.setValues(rows(gqa.qkv.weight.dataSync() as Float32Array, dModel));
    if (gqa.qkv.bias && mha.qkv.bias) mha.qkv.bias.setValues(rows(gqa.qkv.bias.dataSync() as Float32Array, 1));
    mha.proj.weight.setValues(gqa.proj.weight.dataSync());
    if (gqa.proj.bias && mha.proj.bias) mha.proj.bias.setValues(gqa.proj.bias.dataSync());
    for (const [a, b] of [
      [gqa.qNorm, mha.qNorm],
      [gqa.kNorm, mha.kNorm],
    ] as const) {
      const pa = a?.parameters() ?? [];
      const pb = b?.parameters() ?? [];
      for (const [i, p] of pa.entries()) pb[i]!.setValues(p.dataSync());
    }
    return mha;
  }

  for (const { name, config } of VARIANTS.filter((v) => v.config.nKvHeads !== undefined)) {
    it(`${name}: equals multi-head attention with each KV head repeated for its group`, () => {
      noGrad(() => {
        const gqa = makeAttention(config, 3);
        scaleWeights(gqa, 4);
        expect(gqa.qkv.weight.shape).toEqual([(config.nHeads + 2 * config.nKvHeads!) * gqa.headDim, config.dModel]);
        const mha = expandToMultiHead(gqa);
        const x = randn([2, 5, config.dModel], { seed: 4 });
        expect(maxDiff(gqa.forward(x).dataSync(), mha.forward(x).dataSync())).toBeLessThan(1e-5);
      });
    });
  }

  it('the KV cache keeps only the KV heads', () => {
    noGrad(() => {
      const attn = makeAttention({ dModel: 16, nHeads: 4, nKvHeads: 2, positional: 'rope' });
      const cache = new LayerKVCache();
      attn.forward(randn([1, 3, 16], { seed: 5 }), cache);
      expect(cache.k!.shape).toEqual([1, 2, 3, 4]);
      expect(cache.v!.shape).toEqual([1, 2, 3, 4]);
      cache.clear();
    });
  });

  it('gradcheck (float64): w.r.t. the input and both projection weights, 4 heads / 2 KV heads', () => {
    const spec = (shape: number[], seed: number, std = 1) => ({
      values: randn(shape, { seed, std }).dataSync(),
      shape,
    });
    const build = () =>
      new CausalSelfAttention({ dModel: 8, nHeads: 4, nKvHeads: 2, positional: 'rope' }, { rng: new Rng(21) });
    assertGradcheck((x) => build().forward(x), [spec([1, 3, 8], 22)]);
    assertGradcheck(
      (x, wqkv, wproj) => {
        const a = build();
        (a.qkv as unknown as { weight: Tensor }).weight = wqkv;
        (a.proj as unknown as { weight: Tensor }).weight = wproj;
        return a.forward(x);
      },
      [spec([1, 3, 8], 23), spec([16, 8], 24, 0.7), spec([8, 8], 25, 0.7)],
    );
  });

  it('nKvHeads must divide nHeads', () => {
    expect(() => new CausalSelfAttention({ dModel: 16, nHeads: 4, nKvHeads: 3, positional: 'rope' })).toThrow(
      'CausalSelfAttention: nKvHeads 3 must be a positive divisor of nHeads 4',
    );
    expect(() => new CausalSelfAttention({ dModel: 16, nHeads: 4, nKvHeads: 0, positional: 'rope' })).toThrow(
      /nKvHeads 0/,
    );
  });
});

describe('errors', () => {
  it('dModel not divisible by nHeads', () => {
    expect(() => new CausalSelfAttention({ dModel: 10, nHeads: 3, positional: 'learned' })).toThrow(ShapeError);
    expect(() => new CausalSelfAttention({ dModel: 10, nHeads: 3, positional: 'learned' })).toThrow(
      'CausalSelfAttention: dModel 10 must be divisible by nHeads 3',
    );
    expect(() => new CausalSelfAttention({ dModel: 8, nHeads: 0, positional: 'learned' })).toThrow(/nHeads 0/);
  });

  it('an odd head dim with RoPE (fine with learned positions)', () => {
    expect(() => new CausalSelfAttention({ dModel: 6, nHeads: 2, positional: 'rope' })).toThrow(
      'CausalSelfAttention: RoPE needs an even head dim, got dModel/nHeads = 3',
    );
    expect(() => new CausalSelfAttention({ dModel: 6, nHeads: 2, positional: 'learned' })).not.toThrow();
  });

  it('a wrong input shape names the expected and the actual shape', () => {
    const a = new CausalSelfAttention({ dModel: 8, nHeads: 2, positional: 'rope' });
    expect(() => a.forward(randn([2, 3, 6]))).toThrow('CausalSelfAttention: input must be (B, T, 8), got [2,3,6]');
    expect(() => a.forward(randn([3, 8]))).toThrow('CausalSelfAttention: input must be (B, T, 8), got [3,8]');
    expect(() => a.forward(tensor(new Float32Array(16), [1, 1, 2, 8]))).toThrow(ShapeError);
  });

  it('a QK-norm config builds per-head norms (dim = head dim); kind none builds none', () => {
    const a = new CausalSelfAttention({ dModel: 8, nHeads: 2, positional: 'rope', qkNorm: { kind: 'layernorm' } });
    expect(a.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`)).toEqual([
      'qkv.weight:24x8',
      'proj.weight:8x8',
      'qNorm.weight:4',
      'qNorm.bias:4',
      'kNorm.weight:4',
      'kNorm.bias:4',
    ]);
    const b = new CausalSelfAttention({ dModel: 8, nHeads: 2, positional: 'rope', qkNorm: { kind: 'none' } });
    expect(b.qNorm).toBeNull();
    expect(b.parameterCount()).toBe(24 * 8 + 8 * 8);
  });
});
