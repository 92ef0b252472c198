import type { NamedTensor } from '@tinyformer/model';
import { resolveModelConfig } from '@tinyformer/model';
import { absentOrNull, type HfArchitecture, HfInteropError, num, refuse, take, type Weights } from '../architecture.js';
import {
  allZero,
  biasOrZeros,
  commonConfig,
  headDim,
  hiddenDim,
  layerNormGeluMismatch,
  normFromHf,
  normToHf,
} from './common.js';

const where = 'gpt_neox import';

/**
 * Rows of a fused QKV matrix (or bias) regrouped between our order (q of every head, then k, then v) and
 * GPT-NeoX's (per head: q, k, v). `toNeox` picks the direction.
 */
function regroupQkv(t: NamedTensor, nHeads: number, hd: number, toNeox: boolean): NamedTensor {
  const width = t.shape.length === 2 ? t.shape[1]! : 1;
  const out = new Float32Array(t.data.length);
  const block = hd * width;
  for (let part = 0; part < 3; part++) {
    for (let h = 0; h < nHeads; h++) {
      const ours = (part * nHeads + h) * block;
      const neox = (h * 3 + part) * block;
      const [from, to] = toNeox ? [ours, neox] : [neox, ours];
      out.set(t.data.subarray(from, from + block), to);
    }
  }
  return { shape: [...t.shape], data: out };
}

/**
 * GPT-NeoX (Pythia's class) with sequential residuals: LayerNorm pre-norm blocks, a GELU MLP, full rotate-half
 * RoPE, biases on every linear layer (zeros where our recipe has none), QKV packed per head.
 */
export const gptNeox: HfArchitecture = {
  modelType: 'gpt_neox',
  className: 'GPTNeoXForCausalLM',
  mismatch: (c) => layerNormGeluMismatch(c, 'GPT-NeoX', 'rope'),
  configJson(c) {
    return {
      architectures: [this.className],
      model_type: 'gpt_neox',
      ...commonConfig(c),
      hidden_size: c.dModel,
      intermediate_size: hiddenDim(c),
      num_hidden_layers: c.nLayers,
      num_attention_heads: c.nHeads,
      max_position_embeddings: c.contextLength,
      hidden_act: 'gelu_new',
      layer_norm_eps: c.norm.eps,
      rotary_pct: 1,
      rotary_emb_base: c.ropeBase,
      rope_theta: c.ropeBase,
      rope_scaling: null,
      use_parallel_residual: false,
      attention_bias: true,
      attention_dropout: 0,
      hidden_dropout: 0,
    };
  },
  toHf(c, w) {
    const out: Weights = new Map();
    const C = c.dModel;
    const I = hiddenDim(c);
    const hd = headDim(c);
    out.set('gpt_neox.embed_in.weight', w.get('wte.weight')!);
    for (let i = 0; i < c.nLayers; i++) {
      const b = `blocks.${i}`;
      const h = `gpt_neox.layers.${i}`;
      normToHf(w, `${b}.norm1`, C, out, `${h}.input_layernorm`, true);
      out.set(`${h}.attention.query_key_value.weight`, regroupQkv(w.get(`${b}.attn.qkv.weight`)!, c.nHeads, hd, true));
      out.set(
        `${h}.attention.query_key_value.bias`,
        regroupQkv(biasOrZeros(w, `${b}.attn.qkv.bias`, 3 * C), c.nHeads, hd, true),
      );
      out.set(`${h}.attention.dense.weight`, w.get(`${b}.attn.proj.weight`)!);
      out.set(`${h}.attention.dense.bias`, biasOrZeros(w, `${b}.attn.proj.bias`, C));
      normToHf(w, `${b}.norm2`, C, out, `${h}.post_attention_layernorm`, true);
      out.set(`${h}.mlp.dense_h_to_4h.weight`, w.get(`${b}.ffn.fc.weight`)!);
      out.set(`${h}.mlp.dense_h_to_4h.bias`, biasOrZeros(w, `${b}.ffn.fc.bias`, I));
      out.set(`${h}.mlp.dense_4h_to_h.weight`, w.get(`${b}.ffn.proj.weight`)!);
      out.set(`${h}.mlp.dense_4h_to_h.bias`, biasOrZeros(w, `${b}.ffn.proj.bias`, C));
    }
    normToHf(w, 'finalNorm', C, out, 'gpt_neox.final_layer_norm', true);
    if (!c.tieEmbeddings) out.set('embed_out.weight', w.get('lmHead')!);
    return out;
  },
  fromHfConfig(hf, tensors) {
    refuse(hf, [
      [
        'hidden_act',
        (v) => v === 'gelu_new' || v === 'gelu_pytorch_tanh',
        'tinyformer’s GELU is the tanh approximation',
      ],
      ['rotary_pct', (v) => v === 1, 'partial rotary embeddings'],
      ['rope_scaling', absentOrNull, 'RoPE scaling is not implemented'],
      ['attention_bias', (v) => v !== false, 'attention without biases alongside MLP biases'],
    ]);
    if (hf.use_parallel_residual !== false) {
      // absent means true: GPT-NeoX's default is x + attn(ln1(x)) + mlp(ln2(x)), which no tinyformer block computes
      throw new HfInteropError(
        `config.json: use_parallel_residual = ${JSON.stringify(hf.use_parallel_residual ?? true)} is not supported (parallel attention and MLP residuals; tinyformer blocks are sequential)`,
      );
    }
    const nLayers = num(hf, 'num_hidden_layers');
    const layer = (i: number) => `gpt_neox.layers.${i}`;
    const linearBiases = Array.from({ length: nLayers }, (_, i) =>
      ['attention.query_key_value', 'attention.dense', 'mlp.dense_h_to_4h', 'mlp.dense_4h_to_h'].map(
        (n) => `${layer(i)}.${n}.bias`,
      ),
    ).flat();
    const normBiases = Array.from({ length: nLayers }, (_, i) => [
      `${layer(i)}.input_layernorm.bias`,
      `${layer(i)}.post_attention_layernorm.bias`,
    ]).flat();
    return resolveModelConfig(
      {
        vocabSize: num(hf, 'vocab_size'),
        contextLength: num(hf, 'max_position_embeddings'),
        dModel: num(hf, 'hidden_size'),
        nLayers,
        nHeads: num(hf, 'num_attention_heads'),
        norm: {
          kind: 'layernorm',
          placement: 'pre',
          eps: num(hf, 'layer_norm_eps', 1e-5),
          bias: !allZero(tensors, [...normBiases, 'gpt_neox.final_layer_norm.bias']),
        },
        ffn: { kind: 'gelu', hiddenDim: num(hf, 'intermediate_size') },
        positional: 'rope',
        tieEmbeddings: Boolean(hf.tie_word_embeddings ?? false),
        finalNorm: true,
        bias: !allZero(tensors, linearBiases),
        ropeBase: num(hf, 'rope_theta', num(hf, 'rotary_emb_base', 10000)),
      },
      'gpt_neox config.json',
    );
  },
  fromHf(c, hf) {
    const out: Weights = new Map();
    const hd = headDim(c);
    out.set('wte.weight', take(hf, 'gpt_neox.embed_in.weight', where));
    for (let i = 0; i < c.nLayers; i++) {
      const b = `blocks.${i}`;
      const t = (n: string) => take(hf, `gpt_neox.layers.${i}.${n}`, where);
      normFromHf(c, hf, `gpt_neox.layers.${i}.input_layernorm`, out, `${b}.norm1`, where);
      out.set(`${b}.attn.qkv.weight`, regroupQkv(t('attention.query_key_value.weight'), c.nHeads, hd, false));
      out.set(`${b}.attn.proj.weight`, t('attention.dense.weight'));
      normFromHf(c, hf, `gpt_neox.layers.${i}.post_attention_layernorm`, out, `${b}.norm2`, where);
      out.set(`${b}.ffn.fc.weight`, t('mlp.dense_h_to_4h.weight'));
      out.set(`${b}.ffn.proj.weight`, t('mlp.dense_4h_to_h.weight'));
      if (c.bias) {
        out.set(`${b}.attn.qkv.bias`, regroupQkv(t('attention.query_key_value.bias'), c.nHeads, hd, false));
        out.set(`${b}.attn.proj.bias`, t('attention.dense.bias'));
        out.set(`${b}.ffn.fc.bias`, t('mlp.dense_h_to_4h.bias'));
        out.set(`${b}.ffn.proj.bias`, t('mlp.dense_4h_to_h.bias'));
      }
    }
    normFromHf(c, hf, 'gpt_neox.final_layer_norm', out, 'finalNorm', where);
    if (!c.tieEmbeddings) out.set('lmHead', take(hf, 'embed_out.weight', where));
    return out;
  },
};
