import { CharVocab } from '@tinyformer/data';
import { DecoderLM, decodeSafetensors, encodeCheckpoint, type ModelConfigInput, Trainer } from '@tinyformer/model';
import { describe, expect, it } from 'vitest';
import { HfInteropError } from './architecture.js';
import { exportHf, exportHfFromCheckpoint, weightsOf } from './export.js';
import { importHf } from './import.js';
import { tokenizerJson, vocabFromTokenizer } from './tokenizer.js';

const TEXT = 'hello world, hello tokens!\n\u00e9\u{1F600}';
const vocab = CharVocab.fromText(TEXT);
const base = { vocabSize: vocab.size, contextLength: 8, dModel: 8, nLayers: 1, nHeads: 2 };

async function exported(config: ModelConfigInput) {
  const m = new DecoderLM(config, { seed: 1 });
  return exportHf({ config: m.config, weights: await weightsOf(m) }, vocab);
}

const json = (files: Map<string, Uint8Array>, name: string) =>
  JSON.parse(new TextDecoder().decode(files.get(name)!)) as Record<string, unknown>;

function withConfig(files: Map<string, Uint8Array>, patch: Record<string, unknown>) {
  const out = new Map(files);
  out.set('config.json', new TextEncoder().encode(JSON.stringify({ ...json(files, 'config.json'), ...patch })));
  return out;
}

describe('export', () => {
  it('writes the five files, with HF names, no optimizer state and no special token ids', async () => {
    const { files, modelType, className } = await exported(base);
    expect([...files.keys()].sort()).toEqual([
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(modelType).toBe('llama');
    expect(className).toBe('LlamaForCausalLM');
    const cfg = json(files, 'config.json');
    expect(cfg).toMatchObject({
      architectures: ['LlamaForCausalLM'],
      hidden_size: 8,
      num_key_value_heads: 2,
      head_dim: 4,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: true,
      eos_token_id: null,
      bos_token_id: null,
    });
    const { tensors, metadata } = decodeSafetensors(files.get('model.safetensors')!, 'model.safetensors');
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()].every((k) => k.startsWith('model.'))).toBe(true);
    expect(tensors.get('model.layers.0.self_attn.q_proj.weight')!.shape).toEqual([8, 8]);
    expect(json(files, 'generation_config.json')).toMatchObject({ eos_token_id: null, max_length: 8 });
    expect(json(files, 'tokenizer_config.json')).toMatchObject({
      tokenizer_class: 'PreTrainedTokenizerFast',
      clean_up_tokenization_spaces: false,
    });
  });

  it('a recipe with no stock class is refused, naming why for each class', async () => {
    const cases: [ModelConfigInput, RegExp][] = [
      [{ ...base, norm: { placement: 'post' } }, /post-norm blocks/],
      [{ ...base, norm: { kind: 'none' } }, /norm kind "none"/],
      [{ ...base, norm: { kind: 'layernorm' } }, /LlamaForCausalLM: LayerNorm.*GPT2LMHeadModel: SwiGLU/s],
      [{ ...base, ffn: { kind: 'gelu' } }, /LlamaForCausalLM: a GELU MLP.*GPT2LMHeadModel: RMSNorm/s],
      [{ ...base, finalNorm: false }, /no final norm/],
      [{ ...base, qkNorm: true, bias: true }, /Qwen3 has attention biases but no MLP biases/],
    ];
    for (const [config, why] of cases) {
      const m = new DecoderLM(config, { seed: 1 });
      const err = (() => {
        try {
          exportHf({ config: m.config, weights: new Map() }, null);
        } catch (e) {
          return e as Error;
        }
        return null;
      })();
      expect(err).toBeInstanceOf(HfInteropError);
      expect(err!.message).toMatch(/^no stock Hugging Face class computes this recipe/);
      expect(err!.message).toMatch(why);
    }
  });

  it('exports a charlm-style checkpoint from its bytes (vocab from the metadata)', async () => {
    const m = new DecoderLM(base, { seed: 3 });
    const bytes = await encodeCheckpoint(m, { meta: { vocab: vocab.toJSON() } });
    const { files } = exportHfFromCheckpoint(bytes, 'ckpt.safetensors');
    expect(vocabFromTokenizer(json(files, 'tokenizer.json'))!.toJSON()).toEqual(vocab.toJSON());
  });
});

describe('tokenizer', () => {
  it('a BPE model without merges over the characters (astral ones included); read back as the same vocabulary', () => {
    const t = tokenizerJson(vocab) as { model: { type: string; merges: unknown[]; vocab: Record<string, number> } };
    expect(t.model.type).toBe('BPE');
    expect(t.model.merges).toEqual([]);
    expect(t.model.vocab['\n']).toBe(vocab.encode('\n')[0]);
    expect(t.model.vocab['\u{1F600}']).toBe(vocab.encode('\u{1F600}')[0]);
    expect(vocabFromTokenizer(t)!.toJSON()).toEqual(vocab.toJSON());
  });

  it('a subword tokenizer is not character-level: null, not an error', () => {
    expect(vocabFromTokenizer({ model: { type: 'BPE', vocab: { a: 0, ab: 1 }, merges: ['a b'] } })).toBeNull();
    expect(() => vocabFromTokenizer({})).toThrow('tokenizer.json: no "model.vocab" object');
  });
});

describe('import', () => {
  it('refuses unsupported fields by name', async () => {
    const { files } = await exported(base);
    const cases: [Record<string, unknown>, string][] = [
      [{ rope_scaling: { type: 'linear', factor: 2 } }, 'rope_scaling'],
      [{ hidden_act: 'gelu' }, 'hidden_act = "gelu" is not supported'],
      [{ num_local_experts: 8 }, 'mixture-of-experts'],
      [{ attention_bias: true }, 'attention_bias true with mlp_bias false'],
      [{ head_dim: 2 }, 'head_dim 2 x num_attention_heads 2 != hidden_size 8'],
      [{ model_type: 'mistral' }, 'model_type "mistral" is not supported (supported: llama, qwen3, gpt2, gpt_neox)'],
    ];
    for (const [patch, message] of cases) expect(() => importHf(withConfig(files, patch)), message).toThrow(message);
    const neox = await exported({ ...base, norm: { kind: 'layernorm' }, ffn: { kind: 'gelu' } });
    expect(() => importHf(withConfig(neox.files, { use_parallel_residual: true }))).toThrow(
      'use_parallel_residual = true is not supported',
    );
    const gpt2 = await exported({ ...base, norm: { kind: 'layernorm' }, ffn: { kind: 'gelu' }, positional: 'learned' });
    expect(() => importHf(withConfig(gpt2.files, { activation_function: 'relu' }))).toThrow('activation_function');
  });

  it('a tensor the mapping does not use is an error; a missing one names itself', async () => {
    const { files } = await exported(base);
    const { tensors } = decodeSafetensors(files.get('model.safetensors')!, 'm');
    const { encodeSafetensors } = await import('@tinyformer/model');
    const extra = new Map(tensors);
    extra.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [2], data: new Float32Array(2) });
    extra.set('model.layers.0.mlp.experts.0.weight', { shape: [1], data: new Float32Array(1) });
    expect(() => importHf(new Map(files).set('model.safetensors', encodeSafetensors(extra, {})))).toThrow(
      'tensor "model.layers.0.mlp.experts.0.weight" has no place in a llama model',
    );
    const missing = new Map(tensors);
    missing.delete('model.norm.weight');
    expect(() => importHf(new Map(files).set('model.safetensors', encodeSafetensors(missing, {})))).toThrow(
      'llama import: tensor "model.norm.weight" is missing',
    );
    expect(() => importHf(new Map([['config.json', files.get('config.json')!]]))).toThrow('no model.safetensors');
  });

  it('F16 weights load (converted to float32), and an imported model fine-tunes: the loss falls', async () => {
    const { files } = await exported(base);
    const { tensors } = decodeSafetensors(files.get('model.safetensors')!, 'm');
    // rewrite as F16 by hand: header + half bits
    const names = [...tensors.keys()];
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let off = 0;
    const parts: Uint8Array[] = [];
    for (const n of names) {
      const t = tensors.get(n)!;
      const half = new Uint16Array(t.data.length).map((_, i) => toHalf(t.data[i]!));
      parts.push(new Uint8Array(half.buffer));
      header[n] = { dtype: 'F16', shape: t.shape, data_offsets: [off, off + half.byteLength] };
      off += half.byteLength;
    }
    const h = new TextEncoder().encode(JSON.stringify(header));
    const bytes = new Uint8Array(8 + h.length + off);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(h.length), true);
    bytes.set(h, 8);
    let at = 8 + h.length;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    const { model, vocab: v } = importHf(new Map(files).set('model.safetensors', bytes));
    const w = new Map(model.namedParameters()).get('blocks.0.ffn.w1.weight')!.dataSync();
    const orig = tensors.get('model.layers.0.mlp.gate_proj.weight')!.data;
    for (let i = 0; i < w.length; i++)
      expect(Math.abs(w[i]! - orig[i]!)).toBeLessThanOrEqual(Math.abs(orig[i]!) * 1e-3 + 1e-7);

    const trainer = new Trainer(model, { schedule: { lr: 1e-2, warmup: 0, decaySteps: 20, minLr: 1e-3 } });
    const ids = v!.encode(TEXT.slice(0, 9));
    const batch = () => ({ x: ids.slice(0, 8), y: ids.slice(1, 9), batchSize: 1, contextLength: 8 });
    const losses: number[] = [];
    for (let s = 0; s < 20; s++) losses.push((await trainer.trainStep(batch)).loss);
    expect(losses[19]!).toBeLessThan(losses[0]! - 0.5);
  });
});

/** float32 -> IEEE half bits (round to nearest even is not needed for this test: truncation within 1e-3). */
function toHalf(x: number): number {
  const f = new Float32Array([x]);
  const b = new Uint32Array(f.buffer)[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = ((b >>> 23) & 0xff) - 127 + 15;
  const frac = (b >>> 13) & 0x3ff;
  if (exp <= 0) return sign;
  if (exp >= 31) return sign | 0x7c00;
  return sign | (exp << 10) | frac;
}
