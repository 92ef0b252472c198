import { noGrad } from '@tinyformer/autograd';
import { Identity, LayerNorm, RMSNorm } from '@tinyformer/norm';
import { concat, matmul, randn, ShapeError, type Tensor, TensorError, tensor } from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import type { ModelConfigInput } from './config.js';
import { DecoderLM } from './decoder-lm.js';
import { ActivationProbe } from './probe.js';

const small = { vocabSize: 10, contextLength: 8, dModel: 8, nLayers: 2, nHeads: 2 };

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function ids(rows: number[][]): Tensor {
  return tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
}

function tokenRms(t: Tensor): number[] {
  const d = t.shape[t.rank - 1]!;
  const v = t.dataSync();
  const out: number[] = [];
  for (let r = 0; r < v.length / d; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += v[r * d + j]! ** 2;
    out.push(Math.sqrt(s / d));
  }
  return out;
}

function std(v: Float32Array): number {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
}

/** Multiplies every matrix by s: the default 0.02 init makes attention almost uniform, which hides wiring bugs. */
function scaleMatrices(m: DecoderLM, s: number): void {
  for (const p of m.parameters()) if (p.rank === 2) p.setValues(p.dataSync().map((v) => v * s));
}

describe('wiring', () => {
  it('pre-norm: block output = x + attn(norm1(x)) + ffn(norm2(x + attn(norm1(x)))); the residual is not normalized', () => {
    noGrad(() => {
      const m = new DecoderLM({ ...small, norm: { kind: 'rmsnorm', placement: 'pre' } }, { seed: 1 });
      scaleMatrices(m, 20);
      const block = m.blocks[0]!;
      const x = randn([2, 5, 8], { seed: 2, std: 10 });
      const out = block.forward(x);
      const a = block.attn.forward(block.norm1.forward(x));
      const mid = x.add(a);
      const f = block.ffn.forward(block.norm2.forward(mid));
      expect(maxDiff(out.sub(x).dataSync(), a.add(f).dataSync())).toBeLessThan(1e-4);
      // the stream keeps its scale: far from RMS 1
      for (const r of tokenRms(out)) expect(r).toBeGreaterThan(3);
    });
  });

  it('pre-norm (probe): norm outputs have RMS ~1 while the residual stream does not', async () => {
    // eps tiny: the stream's RMS is ~0.02, where eps = 1e-5 would visibly shrink the normalized RMS
    const m = new DecoderLM({ ...small, norm: { kind: 'rmsnorm', placement: 'pre', eps: 1e-9 } }, { seed: 3 });
    const probe = new ActivationProbe();
    noGrad(() => m.forward(ids([[1, 2, 3, 4, 5]]), { probe }));
    const rec = await probe.read();
    expect(rec.map((r) => `${r.layer}:${r.name}`)).toEqual([
      '0:norm1_out',
      '0:resid_mid',
      '0:norm2_out',
      '0:resid_out',
      '1:norm1_out',
      '1:resid_mid',
      '1:norm2_out',
      '1:resid_out',
    ]);
    for (const r of rec) {
      if (r.name.startsWith('norm')) expect(r.rms).toBeCloseTo(1, 3);
      else expect(r.rms).toBeLessThan(0.2); // embeddings are N(0, 0.02): the stream stays small
    }
    expect(await probe.read()).toEqual([]); // read() clears
  });

  for (const kind of ['rmsnorm', 'layernorm'] as const) {
    it(`post-norm (${kind}): every block output has per-token RMS ~1 (g = 1, b = 0 at init)`, async () => {
      const m = new DecoderLM({ ...small, norm: { kind, placement: 'post' } }, { seed: 4 });
      scaleMatrices(m, 20);
      noGrad(() => {
        const x = randn([2, 6, 8], { seed: 5, std: 7 });
        for (const block of m.blocks) {
          const out = block.forward(x);
          for (const r of tokenRms(out)) expect(r).toBeCloseTo(1, 3);
          // and it is not the pre-norm wiring: the output is not x + contributions
          expect(maxDiff(out.dataSync(), x.dataSync())).toBeGreaterThan(1);
        }
      });
      const probe = new ActivationProbe();
      noGrad(() => m.forward(ids([[1, 2, 3]]), { probe }));
      const rec = await probe.read();
      expect(rec.map((r) => r.name)).toEqual(['resid_mid', 'resid_out', 'resid_mid', 'resid_out']);
      for (const r of rec) expect(r.rms).toBeCloseTo(1, 3);
    });
  }

  it('post-norm has no final norm parameter; pre-norm has one', () => {
    const post = new DecoderLM({ ...small, norm: { kind: 'layernorm', placement: 'post' } });
    expect(post.finalNorm).toBeNull();
    expect(post.namedParameters().some(([n]) => n.startsWith('finalNorm'))).toBe(false);
    const pre = new DecoderLM({ ...small, norm: { kind: 'layernorm', placement: 'pre' } });
    expect(pre.finalNorm).toBeInstanceOf(LayerNorm);
    expect(
      pre
        .namedParameters()
        .filter(([n]) => n.startsWith('finalNorm'))
        .map(([n]) => n),
    ).toEqual(['finalNorm.weight', 'finalNorm.bias']);
    const noFinal = new DecoderLM({ ...small, finalNorm: false });
    expect(noFinal.finalNorm).toBeNull();
  });

  it("norm kind 'none' has no norm parameters (and identity norms)", () => {
    const m = new DecoderLM({ ...small, norm: { kind: 'none' } });
    expect(m.namedParameters().filter(([n]) => /norm/i.test(n))).toEqual([]);
    expect(m.blocks[0]!.norm1).toBeInstanceOf(Identity);
    expect(m.blocks[1]!.norm2).toBeInstanceOf(Identity);
  });

  it('norm options reach the layers (eps, affine, bias) and QK-norm uses the block norm kind', () => {
    const m = new DecoderLM({ ...small, norm: { kind: 'layernorm', eps: 1e-3, bias: false }, qkNorm: true });
    const n1 = m.blocks[0]!.norm1 as LayerNorm;
    expect(n1.eps).toBe(1e-3);
    expect(n1.bias).toBeNull();
    expect(m.blocks[0]!.attn.qNorm).toBeInstanceOf(LayerNorm);
    expect((m.blocks[0]!.attn.qNorm as LayerNorm).dim).toBe(4);
    const r = new DecoderLM({ ...small, norm: { affine: false } });
    expect(r.blocks[0]!.norm1).toBeInstanceOf(RMSNorm);
    expect(r.namedParameters().filter(([n]) => n.includes('norm'))).toEqual([]);
  });

  it('tied embeddings: no lmHead, the head is the embedding matrix (logits = h wte^T)', () => {
    const m = new DecoderLM(small, { seed: 6 });
    expect(m.lmHead).toBeNull();
    expect(m.namedParameters().map(([n]) => n)).not.toContain('lmHead');
    scaleMatrices(m, 20);
    noGrad(() => {
      const x = ids([
        [1, 2, 3, 4],
        [9, 0, 5, 5],
      ]);
      let h = m.wte.forward(x);
      for (const b of m.blocks) h = b.forward(h);
      h = m.finalNorm!.forward(h);
      const want = matmul(h.reshape([8, 8]), m.wte.weight, { transB: true });
      expect(maxDiff(m.forward(x).dataSync(), want.dataSync())).toBeLessThan(1e-5);
    });
  });

  it('untied embeddings: a separate lmHead [vocab, dModel] is the head', () => {
    const m = new DecoderLM({ ...small, tieEmbeddings: false }, { seed: 7 });
    expect(m.lmHead!.shape).toEqual([10, 8]);
    expect(m.lmHead).not.toBe(m.wte.weight);
    noGrad(() => {
      const x = ids([[3, 1, 4]]);
      let h = m.wte.forward(x);
      for (const b of m.blocks) h = b.forward(h);
      h = m.finalNorm!.forward(h);
      const want = matmul(h.reshape([3, 8]), m.lmHead!, { transB: true });
      expect(maxDiff(m.forward(x).dataSync(), want.dataSync())).toBeLessThan(1e-6);
    });
  });

  it('learned positions add wpe rows to the embeddings; rope has no wpe', () => {
    expect(new DecoderLM(small).wpe).toBeNull();
    const m = new DecoderLM({ ...small, positional: 'learned' }, { seed: 8 });
    expect(m.wpe!.shape).toEqual([8, 8]);
    // same token at two positions gives different logits only through wpe
    noGrad(() => {
      const logits = m.forward(ids([[4, 4]])).dataSync();
      expect(maxDiff(logits.subarray(0, 10), logits.subarray(10, 20))).toBeGreaterThan(1e-6);
      m.wpe!.setValues(new Float32Array(64));
      const flat = m.forward(ids([[4, 4]])).dataSync();
      // without positions a repeated token is indistinguishable (attention over identical keys/values)
      expect(maxDiff(flat.subarray(0, 10), flat.subarray(10, 20))).toBeLessThan(1e-6);
    });
  });
});

describe('parameter counts', () => {
  it("nanoGPT's baby GPT (LayerNorm without bias, GELU, learned positions, tied) has its 804,096 parameters", () => {
    const m = new DecoderLM({
      vocabSize: 65,
      contextLength: 64,
      dModel: 128,
      nLayers: 4,
      nHeads: 4,
      norm: { kind: 'layernorm', bias: false },
      ffn: { kind: 'gelu' },
      positional: 'learned',
    });
    expect(m.parameterCount()).toBe(804_096);
  });

  const cases: { name: string; config: ModelConfigInput; count: number; names?: string[] }[] = [
    {
      // per block: norm1 8 + qkv 3*8*8 + proj 8*8 + norm2 8 + swiglu 3*8*24 = 848; wte 80; finalNorm 8
      name: 'defaults (rmsnorm pre, swiglu 24, rope, tied)',
      config: small,
      count: 2 * 848 + 80 + 8,
      names: [
        'wte.weight',
        'blocks.0.norm1.weight',
        'blocks.0.attn.qkv.weight',
        'blocks.0.attn.proj.weight',
        'blocks.0.norm2.weight',
        'blocks.0.ffn.w1.weight',
        'blocks.0.ffn.w3.weight',
        'blocks.0.ffn.w2.weight',
        'blocks.1.norm1.weight',
        'blocks.1.attn.qkv.weight',
        'blocks.1.attn.proj.weight',
        'blocks.1.norm2.weight',
        'blocks.1.ffn.w1.weight',
        'blocks.1.ffn.w3.weight',
        'blocks.1.ffn.w2.weight',
        'finalNorm.weight',
      ],
    },
    {
      // per block: ln 16 + qkv 192+24 + proj 64+8 + ln 16 + fc 256+32 + proj 256+8 = 872; wte 80, wpe 64, ln 16, head 80
      name: 'layernorm, gelu 32, learned, untied, bias',
      config: {
        ...small,
        norm: { kind: 'layernorm' },
        ffn: { kind: 'gelu' },
        positional: 'learned',
        tieEmbeddings: false,
        bias: true,
      },
      count: 2 * 872 + 80 + 64 + 16 + 80,
    },
    {
      name: "norm 'none'",
      config: { ...small, norm: { kind: 'none' } },
      count: 2 * (192 + 64 + 576) + 80,
    },
    {
      // post-norm: no final norm; QK-norm adds two [4] RMSNorm gains per block
      name: 'post rmsnorm + QK-norm, swiglu hiddenDim 16',
      config: { ...small, norm: { placement: 'post' }, qkNorm: true, ffn: { hiddenDim: 16 } },
      count: 2 * (8 + 192 + 64 + 4 + 4 + 8 + 3 * 8 * 16) + 80,
    },
  ];
  for (const { name, config, count, names } of cases) {
    it(name, () => {
      const m = new DecoderLM(config);
      expect(m.parameterCount()).toBe(count);
      if (names) expect(m.namedParameters().map(([n]) => n)).toEqual(names);
      // names are set on the parameters themselves (optimizer state and error messages use them)
      for (const [n, p] of m.namedParameters()) expect(p.name).toBe(n);
      // no parameter is registered twice
      expect(new Set(m.parameters()).size).toBe(m.parameters().length);
    });
  }
});

describe('GPT-2 init', () => {
  const L = 2;
  const cfg = { vocabSize: 64, contextLength: 16, dModel: 256, nLayers: L, nHeads: 4 };
  const resid = 0.02 / Math.sqrt(2 * L);

  for (const ffn of ['swiglu', 'gelu'] as const) {
    it(`${ffn}: residual projections ~ N(0, 0.02/sqrt(2L)), other matrices ~ N(0, 0.02), gains 1`, () => {
      const m = new DecoderLM(
        { ...cfg, ffn: { kind: ffn }, positional: 'learned', tieEmbeddings: false, norm: { kind: 'layernorm' } },
        { seed: 9 },
      );
      const outs = ffn === 'swiglu' ? ['attn.proj.weight', 'ffn.w2.weight'] : ['attn.proj.weight', 'ffn.proj.weight'];
      let checked = 0;
      for (const [name, p] of m.namedParameters()) {
        const v = p.dataSync();
        if (p.rank === 1) {
          expect(Array.from(new Set(v)), name).toEqual([name.endsWith('bias') ? 0 : 1]);
          continue;
        }
        const want = outs.some((o) => name.endsWith(o)) ? resid : 0.02;
        expect(Math.abs(std(v) / want - 1), `${name} std ${std(v)} vs ${want}`).toBeLessThan(0.03);
        expect(Math.abs(v.reduce((a, b) => a + b, 0) / v.length), name).toBeLessThan(want * 0.05);
        checked++;
      }
      // wte, wpe, lmHead and 4 matrices per block (swiglu: 5)
      expect(checked).toBe(3 + L * (ffn === 'swiglu' ? 5 : 4));
    });
  }

  it('is deterministic for a seed and differs across seeds', () => {
    const a = new DecoderLM(small, { seed: 5 });
    const b = new DecoderLM(small, { seed: 5 });
    const c = new DecoderLM(small, { seed: 6 });
    const pa = a.parameters();
    b.parameters().forEach((p, i) => {
      expect(Array.from(p.dataSync())).toEqual(Array.from(pa[i]!.dataSync()));
    });
    expect(maxDiff(c.wte.weight.dataSync(), a.wte.weight.dataSync())).toBeGreaterThan(1e-3);
    // the layers draw from one stream: two blocks do not get the same weights
    expect(maxDiff(a.blocks[0]!.attn.qkv.weight.dataSync(), a.blocks[1]!.attn.qkv.weight.dataSync())).toBeGreaterThan(
      1e-3,
    );
  });
});

describe('KV cache through the model', () => {
  const variants: { name: string; config: ModelConfigInput }[] = [
    { name: 'rope', config: small },
    { name: 'learned', config: { ...small, positional: 'learned' } },
    { name: 'rope + QK-norm', config: { ...small, qkNorm: true } },
    { name: 'grouped-query (nKvHeads 1) + untied head', config: { ...small, nKvHeads: 1, tieEmbeddings: false } },
    {
      name: 'learned + QK-norm, layernorm post',
      config: { ...small, positional: 'learned', qkNorm: true, norm: { kind: 'layernorm', placement: 'post' } },
    },
  ];
  const seq = [
    [3, 1, 4, 1, 5, 9, 2, 6],
    [2, 7, 1, 8, 2, 8, 1, 8],
  ];

  for (const { name, config } of variants) {
    it(`${name}: token-by-token decoding gives the full-pass logits`, () => {
      const m = new DecoderLM(config, { seed: 10 });
      scaleMatrices(m, 20);
      noGrad(() => {
        const full = m.forward(ids(seq)).dataSync();
        const cache = m.newCache();
        const steps: Tensor[] = [];
        for (let t = 0; t < 8; t++) steps.push(m.forward(ids(seq.map((r) => [r[t]!])), { cache }));
        expect(cache.length).toBe(8);
        expect(maxDiff(concat(steps, 1).dataSync(), full)).toBeLessThan(1e-5);
      });
    });

    it(`${name}: prefill 5 tokens, then decode 3`, () => {
      const m = new DecoderLM(config, { seed: 11 });
      scaleMatrices(m, 20);
      noGrad(() => {
        const full = m.forward(ids(seq)).dataSync();
        const cache = m.newCache();
        const parts = [m.forward(ids(seq.map((r) => r.slice(0, 5))), { cache })];
        for (let t = 5; t < 8; t++) parts.push(m.forward(ids(seq.map((r) => [r[t]!])), { cache }));
        expect(maxDiff(concat(parts, 1).dataSync(), full)).toBeLessThan(1e-5);
      });
    });
  }

  it('refuses to run past the context length, with or without a cache', () => {
    const m = new DecoderLM(small);
    noGrad(() => {
      expect(() => m.forward(ids([[1, 2, 3, 4, 5, 6, 7, 8, 9]]))).toThrow(
        'DecoderLM.forward: 9 tokens exceed the context length 8',
      );
      const cache = m.newCache();
      m.forward(ids([[1, 2, 3, 4, 5, 6]]), { cache });
      expect(() => m.forward(ids([[1, 2, 3]]), { cache })).toThrow(
        'DecoderLM.forward: 6 cached + 3 tokens exceed the context length 8',
      );
    });
  });

  it('refuses a cache built for another layer count, bad ids and mismatched targets', () => {
    const m = new DecoderLM(small);
    const other = new DecoderLM({ ...small, nLayers: 3 });
    expect(() => m.forward(ids([[1]]), { cache: other.newCache() })).toThrow(
      'DecoderLM.forward: the KV cache has 3 layers, the model 2',
    );
    expect(() => m.forward(tensor(Int32Array.from([1, 2]), [2]))).toThrow(ShapeError);
    expect(() => m.forward(tensor([1, 2], [1, 2]))).toThrow('DecoderLM.forward: ids must be int32, got float32');
    expect(() => m.loss(ids([[1, 2]]), ids([[1, 2, 3]]))).toThrow('DecoderLM.loss: targets [1,3] must match ids [1,2]');
    expect(() => m.forward(ids([[1, 10]]))).toThrow(TensorError);
  });
});
