import { resolveModelConfig } from '@tinyformer/model';
import {
  absentOrNull,
  falsy,
  type HfArchitecture,
  HfInteropError,
  num,
  refuse,
  rows,
  stackRows,
  take,
  type Weights,
} from '../architecture.js';
import { blockMismatch, commonConfig, headDim, hiddenDim, kvHeads, normFromHf, normToHf } from './common.js';

/**
 * Llama (and Qwen3, which is Llama plus a per-head RMSNorm of q and k before RoPE): RMSNorm pre-norm blocks,
 * SwiGLU (gate_proj = our w1, up_proj = w3, down_proj = w2), rotate-half RoPE, grouped-query attention, optional
 * biases. Our fused QKV rows (q for every head, then k, then v) split into q_proj, k_proj and v_proj.
 */
function llamaLike(modelType: 'llama' | 'qwen3'): HfArchitecture {
  const qwen = modelType === 'qwen3';
  const where = `${modelType} import`;
  return {
    modelType,
    className: qwen ? 'Qwen3ForCausalLM' : 'LlamaForCausalLM',
    mismatch(c) {
      const block = blockMismatch(c);
      if (block) return block;
      if (c.norm.kind !== 'rmsnorm') return 'LayerNorm (Llama-family models use RMSNorm)';
      if (c.ffn.kind !== 'swiglu') return 'a GELU MLP (Llama-family models use SwiGLU)';
      if (c.positional !== 'rope') return 'learned positions (Llama-family models use RoPE)';
      if (c.qkNorm !== qwen) return qwen ? 'no QK-norm (that is Llama)' : 'QK-norm (that is Qwen3)';
      if (qwen && c.bias) return 'biases: Qwen3 has attention biases but no MLP biases';
      return null;
    },
    configJson(c) {
      return {
        architectures: [this.className],
        model_type: modelType,
        ...commonConfig(c),
        hidden_size: c.dModel,
        intermediate_size: hiddenDim(c),
        num_hidden_layers: c.nLayers,
        num_attention_heads: c.nHeads,
        num_key_value_heads: kvHeads(c),
        head_dim: headDim(c),
        max_position_embeddings: c.contextLength,
        hidden_act: 'silu',
        rms_norm_eps: c.norm.eps,
        rope_theta: c.ropeBase,
        rope_scaling: null,
        attention_bias: c.bias,
        attention_dropout: 0,
        ...(qwen ? { use_sliding_window: false, sliding_window: null } : { mlp_bias: c.bias, pretraining_tp: 1 }),
      };
    },
    toHf(c, w) {
      const out: Weights = new Map();
      const hd = headDim(c);
      const q = c.nHeads * hd;
      const kv = kvHeads(c) * hd;
      out.set('model.embed_tokens.weight', w.get('wte.weight')!);
      for (let i = 0; i < c.nLayers; i++) {
        const b = `blocks.${i}`;
        const h = `model.layers.${i}`;
        normToHf(w, `${b}.norm1`, c.dModel, out, `${h}.input_layernorm`, false);
        const qkv = w.get(`${b}.attn.qkv.weight`)!;
        out.set(`${h}.self_attn.q_proj.weight`, rows(qkv, 0, q));
        out.set(`${h}.self_attn.k_proj.weight`, rows(qkv, q, kv));
        out.set(`${h}.self_attn.v_proj.weight`, rows(qkv, q + kv, kv));
        if (c.bias) {
          const qkvBias = w.get(`${b}.attn.qkv.bias`)!;
          out.set(`${h}.self_attn.q_proj.bias`, rows(qkvBias, 0, q));
          out.set(`${h}.self_attn.k_proj.bias`, rows(qkvBias, q, kv));
          out.set(`${h}.self_attn.v_proj.bias`, rows(qkvBias, q + kv, kv));
        }
        out.set(`${h}.self_attn.o_proj.weight`, w.get(`${b}.attn.proj.weight`)!);
        if (c.bias) out.set(`${h}.self_attn.o_proj.bias`, w.get(`${b}.attn.proj.bias`)!);
        if (qwen) {
          normToHf(w, `${b}.attn.qNorm`, hd, out, `${h}.self_attn.q_norm`, false);
          normToHf(w, `${b}.attn.kNorm`, hd, out, `${h}.self_attn.k_norm`, false);
        }
        normToHf(w, `${b}.norm2`, c.dModel, out, `${h}.post_attention_layernorm`, false);
        for (const [ours, theirs] of [
          ['w1', 'gate_proj'],
          ['w3', 'up_proj'],
          ['w2', 'down_proj'],
        ] as const) {
          out.set(`${h}.mlp.${theirs}.weight`, w.get(`${b}.ffn.${ours}.weight`)!);
          if (c.bias) out.set(`${h}.mlp.${theirs}.bias`, w.get(`${b}.ffn.${ours}.bias`)!);
        }
      }
      normToHf(w, 'finalNorm', c.dModel, out, 'model.norm', false);
      if (!c.tieEmbeddings) out.set('lm_head.weight', w.get('lmHead')!);
      return out;
    },
    fromHfConfig(hf, tensors) {
      refuse(hf, [
        ['rope_scaling', absentOrNull, 'RoPE scaling (linear, dynamic, YaRN, llama3) is not implemented'],
        ['use_sliding_window', falsy, 'sliding-window attention is not implemented'],
        ['hidden_act', (v) => v === 'silu', 'only SwiGLU with SiLU is implemented'],
        ['pretraining_tp', (v) => v === 1, 'tensor-parallel slicing of the MLP'],
        ['num_experts', absentOrNull, 'mixture-of-experts layers are not implemented'],
        ['num_local_experts', absentOrNull, 'mixture-of-experts layers are not implemented'],
      ]);
      const dModel = num(hf, 'hidden_size');
      const nHeads = num(hf, 'num_attention_heads');
      const nKv = num(hf, 'num_key_value_heads', nHeads);
      const hd = num(hf, 'head_dim', dModel / nHeads);
      if (hd * nHeads !== dModel) {
        throw new HfInteropError(
          `config.json: head_dim ${hd} x num_attention_heads ${nHeads} != hidden_size ${dModel} (tinyformer ties the head width to the model width)`,
        );
      }
      const attnBias = Boolean(hf.attention_bias);
      const mlpBias = qwen ? false : Boolean(hf.mlp_bias);
      if (attnBias !== mlpBias) {
        throw new HfInteropError(
          `config.json: attention_bias ${attnBias} with mlp_bias ${mlpBias} is not supported (tinyformer has one bias switch for every linear layer)`,
        );
      }
      const tied =
        hf.tie_word_embeddings === undefined ? !tensors.has('lm_head.weight') : Boolean(hf.tie_word_embeddings);
      return resolveModelConfig(
        {
          vocabSize: num(hf, 'vocab_size'),
          contextLength: num(hf, 'max_position_embeddings'),
          dModel,
          nLayers: num(hf, 'num_hidden_layers'),
          nHeads,
          ...(nKv !== nHeads ? { nKvHeads: nKv } : {}),
          norm: { kind: 'rmsnorm', placement: 'pre', eps: num(hf, 'rms_norm_eps', 1e-6) },
          ffn: { kind: 'swiglu', hiddenDim: num(hf, 'intermediate_size') },
          positional: 'rope',
          tieEmbeddings: tied,
          finalNorm: true,
          qkNorm: qwen,
          bias: attnBias,
          ropeBase: num(hf, 'rope_theta', 10000),
        },
        `${modelType} config.json`,
      );
    },
    fromHf(c, hf) {
      const out: Weights = new Map();
      out.set('wte.weight', take(hf, 'model.embed_tokens.weight', where));
      for (let i = 0; i < c.nLayers; i++) {
        const b = `blocks.${i}`;
        const h = `model.layers.${i}`;
        const t = (n: string) => take(hf, `${h}.${n}`, where);
        normFromHf(c, hf, `${h}.input_layernorm`, out, `${b}.norm1`, where);
        out.set(`${b}.attn.qkv.weight`, stackRows(['q', 'k', 'v'].map((p) => t(`self_attn.${p}_proj.weight`))));
        if (c.bias) out.set(`${b}.attn.qkv.bias`, stackRows(['q', 'k', 'v'].map((p) => t(`self_attn.${p}_proj.bias`))));
        out.set(`${b}.attn.proj.weight`, t('self_attn.o_proj.weight'));
        if (c.bias) out.set(`${b}.attn.proj.bias`, t('self_attn.o_proj.bias'));
        if (qwen) {
          out.set(`${b}.attn.qNorm.weight`, t('self_attn.q_norm.weight'));
          out.set(`${b}.attn.kNorm.weight`, t('self_attn.k_norm.weight'));
        }
        normFromHf(c, hf, `${h}.post_attention_layernorm`, out, `${b}.norm2`, where);
        for (const [ours, theirs] of [
          ['w1', 'gate_proj'],
          ['w3', 'up_proj'],
          ['w2', 'down_proj'],
        ] as const) {
          out.set(`${b}.ffn.${ours}.weight`, t(`mlp.${theirs}.weight`));
          if (c.bias) out.set(`${b}.ffn.${ours}.bias`, t(`mlp.${theirs}.bias`));
        }
      }
      normFromHf(c, hf, 'model.norm', out, 'finalNorm', where);
      if (!c.tieEmbeddings) out.set('lmHead', take(hf, 'lm_head.weight', where));
      return out;
    },
  };
}

export const llama: HfArchitecture = llamaLike('llama');
export const qwen3: HfArchitecture = llamaLike('qwen3');
