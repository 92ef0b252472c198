import { resolveModelConfig } from '@tinyformer/model';
import { type HfArchitecture, HfInteropError, num, refuse, take, transpose, type Weights } from '../architecture.js';
import {
  allZero,
  biasOrZeros,
  commonConfig,
  hiddenDim,
  layerNormGeluMismatch,
  normFromHf,
  normToHf,
} from './common.js';

const where = 'gpt2 import';

/**
 * GPT-2: LayerNorm pre-norm blocks, the tanh-approximated GELU MLP (`gelu_new`), learned positions, biases
 * everywhere. Its linear layers are Conv1D modules that store weights as [in, out], the transpose of ours; where
 * our recipe has no biases (or no LayerNorm shift) the export writes zeros, and an import of all-zero biases gives
 * the bias-free recipe back.
 */
export const gpt2: HfArchitecture = {
  modelType: 'gpt2',
  className: 'GPT2LMHeadModel',
  mismatch: (c) => layerNormGeluMismatch(c, 'GPT-2', 'learned'),
  configJson(c) {
    return {
      architectures: [this.className],
      model_type: 'gpt2',
      ...commonConfig(c),
      n_embd: c.dModel,
      n_layer: c.nLayers,
      n_head: c.nHeads,
      n_positions: c.contextLength,
      n_inner: hiddenDim(c),
      activation_function: 'gelu_new',
      layer_norm_epsilon: c.norm.eps,
      resid_pdrop: 0,
      embd_pdrop: 0,
      attn_pdrop: 0,
      scale_attn_weights: true,
      scale_attn_by_inverse_layer_idx: false,
      reorder_and_upcast_attn: false,
    };
  },
  toHf(c, w) {
    const out: Weights = new Map();
    const C = c.dModel;
    const I = hiddenDim(c);
    out.set('transformer.wte.weight', w.get('wte.weight')!);
    out.set('transformer.wpe.weight', w.get('wpe')!);
    for (let i = 0; i < c.nLayers; i++) {
      const b = `blocks.${i}`;
      const h = `transformer.h.${i}`;
      normToHf(w, `${b}.norm1`, C, out, `${h}.ln_1`, true);
      out.set(`${h}.attn.c_attn.weight`, transpose(w.get(`${b}.attn.qkv.weight`)!));
      out.set(`${h}.attn.c_attn.bias`, biasOrZeros(w, `${b}.attn.qkv.bias`, 3 * C));
      out.set(`${h}.attn.c_proj.weight`, transpose(w.get(`${b}.attn.proj.weight`)!));
      out.set(`${h}.attn.c_proj.bias`, biasOrZeros(w, `${b}.attn.proj.bias`, C));
      normToHf(w, `${b}.norm2`, C, out, `${h}.ln_2`, true);
      out.set(`${h}.mlp.c_fc.weight`, transpose(w.get(`${b}.ffn.fc.weight`)!));
      out.set(`${h}.mlp.c_fc.bias`, biasOrZeros(w, `${b}.ffn.fc.bias`, I));
      out.set(`${h}.mlp.c_proj.weight`, transpose(w.get(`${b}.ffn.proj.weight`)!));
      out.set(`${h}.mlp.c_proj.bias`, biasOrZeros(w, `${b}.ffn.proj.bias`, C));
    }
    normToHf(w, 'finalNorm', C, out, 'transformer.ln_f', true);
    if (!c.tieEmbeddings) out.set('lm_head.weight', w.get('lmHead')!);
    return out;
  },
  fromHfConfig(hf, tensors) {
    refuse(hf, [
      [
        'activation_function',
        (v) => v === 'gelu_new' || v === 'gelu_pytorch_tanh',
        'tinyformer’s GELU is the tanh approximation',
      ],
      ['scale_attn_weights', (v) => v !== false, 'unscaled attention scores'],
      ['scale_attn_by_inverse_layer_idx', (v) => !v, 'per-layer attention scaling'],
      ['add_cross_attention', (v) => !v, 'cross-attention'],
    ]);
    const nLayers = num(hf, 'n_layer');
    const dModel = num(hf, 'n_embd');
    const names = (kind: 'linear' | 'norm') =>
      Array.from({ length: nLayers }, (_, i) => `transformer.h.${i}`).flatMap((h) =>
        kind === 'linear'
          ? [`${h}.attn.c_attn.bias`, `${h}.attn.c_proj.bias`, `${h}.mlp.c_fc.bias`, `${h}.mlp.c_proj.bias`]
          : [`${h}.ln_1.bias`, `${h}.ln_2.bias`],
      );
    const nInner = hf.n_inner ?? null;
    if (nInner !== null && typeof nInner !== 'number') {
      throw new HfInteropError(`config.json: "n_inner" must be a number or null, got ${JSON.stringify(nInner)}`);
    }
    const tied =
      hf.tie_word_embeddings === undefined ? !tensors.has('lm_head.weight') : Boolean(hf.tie_word_embeddings);
    return resolveModelConfig(
      {
        vocabSize: num(hf, 'vocab_size'),
        contextLength: num(hf, 'n_positions'),
        dModel,
        nLayers,
        nHeads: num(hf, 'n_head'),
        norm: {
          kind: 'layernorm',
          placement: 'pre',
          eps: num(hf, 'layer_norm_epsilon', 1e-5),
          bias: !allZero(tensors, [...names('norm'), 'transformer.ln_f.bias']),
        },
        ffn: { kind: 'gelu', hiddenDim: nInner ?? 4 * dModel },
        positional: 'learned',
        tieEmbeddings: tied,
        finalNorm: true,
        bias: !allZero(tensors, names('linear')),
      },
      'gpt2 config.json',
    );
  },
  fromHf(c, hf) {
    const out: Weights = new Map();
    out.set('wte.weight', take(hf, 'transformer.wte.weight', where));
    out.set('wpe', take(hf, 'transformer.wpe.weight', where));
    for (let i = 0; i < c.nLayers; i++) {
      const b = `blocks.${i}`;
      const h = `transformer.h.${i}`;
      const t = (n: string) => take(hf, `${h}.${n}`, where);
      normFromHf(c, hf, `${h}.ln_1`, out, `${b}.norm1`, where);
      out.set(`${b}.attn.qkv.weight`, transpose(t('attn.c_attn.weight')));
      out.set(`${b}.attn.proj.weight`, transpose(t('attn.c_proj.weight')));
      normFromHf(c, hf, `${h}.ln_2`, out, `${b}.norm2`, where);
      out.set(`${b}.ffn.fc.weight`, transpose(t('mlp.c_fc.weight')));
      out.set(`${b}.ffn.proj.weight`, transpose(t('mlp.c_proj.weight')));
      if (c.bias) {
        out.set(`${b}.attn.qkv.bias`, t('attn.c_attn.bias'));
        out.set(`${b}.attn.proj.bias`, t('attn.c_proj.bias'));
        out.set(`${b}.ffn.fc.bias`, t('mlp.c_fc.bias'));
        out.set(`${b}.ffn.proj.bias`, t('mlp.c_proj.bias'));
      }
    }
    normFromHf(c, hf, 'transformer.ln_f', out, 'finalNorm', where);
    if (!c.tieEmbeddings) out.set('lmHead', take(hf, 'lm_head.weight', where));
    return out;
  },
};
