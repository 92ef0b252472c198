"""Reference forward passes of four Hugging Face decoder classes, written from transformers' documented semantics
(modeling_llama, modeling_qwen3, modeling_gpt2, modeling_gpt_neox) with plain PyTorch, to check tinyformer's
exports without installing transformers.

    python3 hf_reference.py FOLDER < ids.json > logits.json

ids.json is {"ids": [[...], ...]} (batch x tokens); the output is {"shape": [B, T, V], "logits": [...]} in float32.
The folder is what tinyformer's exportHf writes: config.json, model.safetensors (F32), tokenizer files.
"""
import json
import math
import struct
import sys

import numpy as np
import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: {info['dtype']}"
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[base + a : base + b], dtype="<f4").reshape(info["shape"]).copy())
    return out


def rms_norm(x, w, eps):
    # LlamaRMSNorm: x * rsqrt(mean(x^2) + eps), then the weight
    variance = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(variance + eps))


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(dim, theta, T):
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x, cos, sin):
    return x * cos + rotate_half(x) * sin


def repeat_kv(x, n_rep):
    b, h, s, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, h, n_rep, s, d).reshape(b, h * n_rep, s, d)


def causal_attention(q, k, v):
    # q, k, v: (B, H, T, hd); scores scaled by 1/sqrt(hd), causal mask, softmax in float32
    T = q.shape[-2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores.float(), dim=-1) @ v


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def linear(x, w, b=None):
    return torch.nn.functional.linear(x, w, b)


def llama_like(cfg, W, ids, qwen):
    C = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    Hkv = cfg.get("num_key_value_heads", H)
    hd = cfg.get("head_dim") or C // H
    eps = cfg["rms_norm_eps"]
    B, T = ids.shape
    cos, sin = rope_cos_sin(hd, cfg.get("rope_theta", 10000.0), T)
    g = lambda n: W.get(n)
    x = g("model.embed_tokens.weight")[ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, g(p + "input_layernorm.weight"), eps)
        q = linear(h, g(p + "self_attn.q_proj.weight"), g(p + "self_attn.q_proj.bias")).view(B, T, H, hd)
        k = linear(h, g(p + "self_attn.k_proj.weight"), g(p + "self_attn.k_proj.bias")).view(B, T, Hkv, hd)
        v = linear(h, g(p + "self_attn.v_proj.weight"), g(p + "self_attn.v_proj.bias")).view(B, T, Hkv, hd)
        if qwen:
            q = rms_norm(q, g(p + "self_attn.q_norm.weight"), eps)
            k = rms_norm(k, g(p + "self_attn.k_norm.weight"), eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        k, v = repeat_kv(k, H // Hkv), repeat_kv(v, H // Hkv)
        a = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, H * hd)
        x = x + linear(a, g(p + "self_attn.o_proj.weight"), g(p + "self_attn.o_proj.bias"))
        h = rms_norm(x, g(p + "post_attention_layernorm.weight"), eps)
        gate = linear(h, g(p + "mlp.gate_proj.weight"), g(p + "mlp.gate_proj.bias"))
        up = linear(h, g(p + "mlp.up_proj.weight"), g(p + "mlp.up_proj.bias"))
        x = x + linear(torch.nn.functional.silu(gate) * up, g(p + "mlp.down_proj.weight"), g(p + "mlp.down_proj.bias"))
    x = rms_norm(x, g("model.norm.weight"), eps)
    head = g("model.embed_tokens.weight") if cfg.get("tie_word_embeddings", True) else g("lm_head.weight")
    return x @ head.T


def gpt2(cfg, W, ids):
    C = cfg["n_embd"]
    H = cfg["n_head"]
    hd = C // H
    eps = cfg["layer_norm_epsilon"]
    B, T = ids.shape
    g = lambda n: W[n]
    conv1d = lambda x, n: torch.addmm(g(n + ".bias"), x.reshape(-1, x.shape[-1]), g(n + ".weight")).view(*x.shape[:-1], -1)
    x = g("transformer.wte.weight")[ids] + g("transformer.wpe.weight")[torch.arange(T)]
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        h = layer_norm(x, g(p + "ln_1.weight"), g(p + "ln_1.bias"), eps)
        q, k, v = conv1d(h, p + "attn.c_attn").split(C, dim=2)
        heads = lambda t: t.view(B, T, H, hd).permute(0, 2, 1, 3)
        a = causal_attention(heads(q), heads(k), heads(v)).permute(0, 2, 1, 3).reshape(B, T, C)
        x = x + conv1d(a, p + "attn.c_proj")
        h = layer_norm(x, g(p + "ln_2.weight"), g(p + "ln_2.bias"), eps)
        x = x + conv1d(gelu_new(conv1d(h, p + "mlp.c_fc")), p + "mlp.c_proj")
    x = layer_norm(x, g("transformer.ln_f.weight"), g("transformer.ln_f.bias"), eps)
    head = g("transformer.wte.weight") if cfg.get("tie_word_embeddings", True) else g("lm_head.weight")
    return x @ head.T


def gpt_neox(cfg, W, ids):
    C = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    hd = C // H
    eps = cfg["layer_norm_eps"]
    rot = int(hd * cfg.get("rotary_pct", 1.0))
    B, T = ids.shape
    cos, sin = rope_cos_sin(rot, cfg.get("rope_theta", cfg.get("rotary_emb_base", 10000)), T)
    assert cfg.get("use_parallel_residual") is False
    g = lambda n: W[n]
    x = g("gpt_neox.embed_in.weight")[ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        h = layer_norm(x, g(p + "input_layernorm.weight"), g(p + "input_layernorm.bias"), eps)
        qkv = linear(h, g(p + "attention.query_key_value.weight"), g(p + "attention.query_key_value.bias"))
        qkv = qkv.view(B, T, H, 3 * hd).permute(0, 2, 1, 3)
        q, k, v = qkv[..., :hd], qkv[..., hd : 2 * hd], qkv[..., 2 * hd :]
        q = torch.cat((apply_rope(q[..., :rot], cos, sin), q[..., rot:]), dim=-1)
        k = torch.cat((apply_rope(k[..., :rot], cos, sin), k[..., rot:]), dim=-1)
        a = causal_attention(q, k, v).permute(0, 2, 1, 3).reshape(B, T, C)
        x = x + linear(a, g(p + "attention.dense.weight"), g(p + "attention.dense.bias"))
        h = layer_norm(x, g(p + "post_attention_layernorm.weight"), g(p + "post_attention_layernorm.bias"), eps)
        m = gelu_new(linear(h, g(p + "mlp.dense_h_to_4h.weight"), g(p + "mlp.dense_h_to_4h.bias")))
        x = x + linear(m, g(p + "mlp.dense_4h_to_h.weight"), g(p + "mlp.dense_4h_to_h.bias"))
    x = layer_norm(x, g("gpt_neox.final_layer_norm.weight"), g("gpt_neox.final_layer_norm.bias"), eps)
    head = g("gpt_neox.embed_in.weight") if cfg.get("tie_word_embeddings", False) else g("embed_out.weight")
    return x @ head.T


def main():
    folder = sys.argv[1]
    ids = torch.tensor(json.load(sys.stdin)["ids"], dtype=torch.long)
    with open(f"{folder}/config.json") as f:
        cfg = json.load(f)
    W = load_safetensors(f"{folder}/model.safetensors")
    kind = cfg["model_type"]
    with torch.no_grad():
        if kind == "llama":
            logits = llama_like(cfg, W, ids, qwen=False)
        elif kind == "qwen3":
            logits = llama_like(cfg, W, ids, qwen=True)
        elif kind == "gpt2":
            logits = gpt2(cfg, W, ids)
        elif kind == "gpt_neox":
            logits = gpt_neox(cfg, W, ids)
        else:
            raise SystemExit(f"unknown model_type {kind}")
    json.dump({"shape": list(logits.shape), "logits": logits.float().reshape(-1).tolist()}, sys.stdout)


if __name__ == "__main__":
    main()
