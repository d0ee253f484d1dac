#!/usr/bin/python3
"""Writes the engine's PyTorch fixtures: tiny Llama/Qwen2-architecture checkpoints in Hugging Face
layout plus the expected outputs of a float64 reference forward and backward, so TypeScript tests can
check the checkpoint loader and the model's logits/gradients against PyTorch without PyTorch.

Run (Debian's torch is only visible to /usr/bin/python3):
    apt-get install -y --no-install-recommends python3-torch python3-numpy
    /usr/bin/python3 scripts/make-torch-fixture.py            # writes src/engine/__fixtures__/

Neither `transformers` nor `safetensors` is packaged by Debian 12, so the tensor names and config.json
follow transformers' Qwen2ForCausalLM / LlamaForCausalLM by hand and the files are written by the
small safetensors writer below (F32, little-endian, tensors sorted by name, JSON header padded with
spaces to a multiple of 8, `__metadata__ = {"format": "pt"}`), byte-compatible with safetensors.torch.

Layout of each model directory `src/engine/__fixtures__/<name>/`:
  config.json        Hugging Face config (model_type, hidden_size, num_hidden_layers, ...).
  model.safetensors  F32 weights with HF names; nn.Linear weights are (out_features, in_features):
                       model.embed_tokens.weight                 (V, C)
                       model.layers.{i}.input_layernorm.weight   (C,)
                       model.layers.{i}.self_attn.q_proj.weight  (H*D, C)    .bias (H*D,)   [bias iff qkv bias]
                       model.layers.{i}.self_attn.k_proj.weight  (KVH*D, C)  .bias (KVH*D,)
                       model.layers.{i}.self_attn.v_proj.weight  (KVH*D, C)  .bias (KVH*D,)
                       model.layers.{i}.self_attn.o_proj.weight  (C, H*D)    (no bias)
                       model.layers.{i}.post_attention_layernorm.weight (C,)
                       model.layers.{i}.mlp.gate_proj.weight     (F, C)
                       model.layers.{i}.mlp.up_proj.weight       (F, C)
                       model.layers.{i}.mlp.down_proj.weight     (C, F)
                       model.norm.weight                         (C,)
                       lm_head.weight                            (V, C)      [absent when tie_word_embeddings]
  expected.safetensors  F32 outputs of the float64 reference below:
                       input_ids   (B, T)    token ids stored as floats (exact: ids < 2^24)
                       target_ids  (B, T)    token ids stored as floats
                       logits      (B, T, V) at positions 0..T-1 of each row
                       loss        (1,)      mean over all B*T positions of -log_softmax(logits)[target]
                       grad.<name>           d loss / d <name> for every tensor of model.safetensors
  expected.json      the same ids and loss as JSON, a one-line description, and per weight tensor its
                     shape, float64 sum and first three values (to check a loader independently).

The reference forward (transformers' Llama/Qwen2 modeling, written with plain torch ops, float64):
  x = embed[ids]                                                        (B,T,C)
  per layer:  h = rmsnorm(x, input_layernorm);  q,k,v = h @ W^T (+ b)
              q (B,T,H,D), k/v (B,T,KVH,D); RoPE in the rotate_half convention on q and k:
                inv_freq[i] = rope_theta ** (-2i/D), i < D/2;  angle = position * inv_freq
                cos/sin = cat([angle, angle]);  rot(x) = x*cos + rotate_half(x)*sin,
                rotate_half(x) = cat([-x[D/2:], x[:D/2]])
              GQA: kv head j serves query heads j*H/KVH .. (j+1)*H/KVH - 1 (repeat_interleave)
              attention = softmax(q k^T / sqrt(D) + causal mask) v;  x = x + attention @ o_proj^T
              x = x + down(silu(gate(h2)) * up(h2)),  h2 = rmsnorm(x, post_attention_layernorm)
  logits = rmsnorm(x, model.norm) @ lm_head^T  (lm_head = embed_tokens when tied)
  rmsnorm(x, w) = w * x / sqrt(mean(x^2, last dim) + rms_norm_eps); positions are 0..T-1.

Also writes `dtypes.safetensors`: one random tensor stored as F32, F16, BF16 and F64 (`x_f32`,
`x_f16`, `x_bf16`, `x_f64`) with torch's own conversions back to float32 (`x_f16_as_f32`,
`x_bf16_as_f32`, `x_f64_as_f32`) for testing the reader's dtype conversions.
"""
import json
import math
import os
import struct
import sys

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src', 'engine', '__fixtures__')

FIXTURES = {
    # Qwen2: grouped KV heads (4 query heads, 2 KV heads), QKV bias, untied LM head.
    'tiny-qwen2': dict(
        architectures=['Qwen2ForCausalLM'], model_type='qwen2', vocab_size=48, hidden_size=16,
        intermediate_size=24, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        hidden_act='silu', max_position_embeddings=64, rope_theta=10000.0, rms_norm_eps=1e-6,
        tie_word_embeddings=False, torch_dtype='float32', use_sliding_window=False,
        sliding_window=None, max_window_layers=2, attention_dropout=0.0, rope_scaling=None,
        bos_token_id=None, eos_token_id=0, initializer_range=0.02, use_cache=True,
    ),
    # Llama: plain multi-head attention, no bias, tied embeddings (no lm_head.weight saved).
    'tiny-llama': dict(
        architectures=['LlamaForCausalLM'], model_type='llama', vocab_size=40, hidden_size=12,
        intermediate_size=20, num_hidden_layers=2, num_attention_heads=3, num_key_value_heads=3,
        hidden_act='silu', max_position_embeddings=64, rope_theta=500.0, rms_norm_eps=1e-5,
        tie_word_embeddings=True, torch_dtype='float32', attention_bias=False, mlp_bias=False,
        rope_scaling=None, attention_dropout=0.0, pretraining_tp=1, bos_token_id=1,
        eos_token_id=2, initializer_range=0.02, use_cache=True,
    ),
}
BATCH, TOKENS = 2, 7

DTYPE_NAMES = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float64: 'F64'}


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} like safetensors.torch.save_file (sorted by name, 8-byte padded header)."""
    header = {}
    if metadata:
        header['__metadata__'] = metadata
    chunks, offset = [], 0
    for name in sorted(tensors):
        tensor = tensors[name].detach().contiguous().cpu()
        data = tensor.view(torch.int16).numpy().tobytes() if tensor.dtype == torch.bfloat16 else tensor.numpy().tobytes()
        header[name] = {'dtype': DTYPE_NAMES[tensor.dtype], 'shape': list(tensor.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    assert sys.byteorder == 'little'
    with open(path, 'wb') as file:
        file.write(struct.pack('<Q', len(text)))
        file.write(text)
        for chunk in chunks:
            file.write(chunk)


def make_weights(config, generator):
    """Random float32 weights under HF names; scales chosen so every op visibly matters."""
    C, V, F = config['hidden_size'], config['vocab_size'], config['intermediate_size']
    H, KVH = config['num_attention_heads'], config['num_key_value_heads']
    D = C // H
    bias = config['model_type'] == 'qwen2' or config.get('attention_bias', False)

    def normal(*shape, std):
        return (torch.randn(*shape, generator=generator, dtype=torch.float64) * std).float()

    weights = {'model.embed_tokens.weight': normal(V, C, std=0.5)}
    for i in range(config['num_hidden_layers']):
        p = f'model.layers.{i}.'
        weights[p + 'input_layernorm.weight'] = 1 + normal(C, std=0.2)
        weights[p + 'self_attn.q_proj.weight'] = normal(H * D, C, std=1 / math.sqrt(C))
        weights[p + 'self_attn.k_proj.weight'] = normal(KVH * D, C, std=1 / math.sqrt(C))
        weights[p + 'self_attn.v_proj.weight'] = normal(KVH * D, C, std=1 / math.sqrt(C))
        if bias:
            weights[p + 'self_attn.q_proj.bias'] = normal(H * D, std=0.3)
            weights[p + 'self_attn.k_proj.bias'] = normal(KVH * D, std=0.3)
            weights[p + 'self_attn.v_proj.bias'] = normal(KVH * D, std=0.3)
        weights[p + 'self_attn.o_proj.weight'] = normal(C, H * D, std=1 / math.sqrt(C))
        weights[p + 'post_attention_layernorm.weight'] = 1 + normal(C, std=0.2)
        weights[p + 'mlp.gate_proj.weight'] = normal(F, C, std=1 / math.sqrt(C))
        weights[p + 'mlp.up_proj.weight'] = normal(F, C, std=1 / math.sqrt(C))
        weights[p + 'mlp.down_proj.weight'] = normal(C, F, std=1 / math.sqrt(F))
    weights['model.norm.weight'] = 1 + normal(C, std=0.2)
    if not config['tie_word_embeddings']:
        weights['lm_head.weight'] = normal(V, C, std=1 / math.sqrt(C))
    return weights


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def forward(config, w, input_ids):
    """Float64 logits (B,T,V) of the Llama/Qwen2 decoder for `input_ids` (B,T), positions 0..T-1."""
    B, T = input_ids.shape
    C, H, KVH = config['hidden_size'], config['num_attention_heads'], config['num_key_value_heads']
    D, eps = C // H, config['rms_norm_eps']
    inv_freq = 1.0 / (config['rope_theta'] ** (torch.arange(0, D, 2, dtype=torch.float64) / D))  # (D/2,)
    angles = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)  # (T, D/2)
    cos = torch.cat((angles, angles), dim=-1).cos()[None, None]  # (1,1,T,D)
    sin = torch.cat((angles, angles), dim=-1).sin()[None, None]
    causal = torch.full((T, T), float('-inf'), dtype=torch.float64).triu(1)  # (T,T)

    def linear(x, name):
        y = x @ w[name + '.weight'].T
        return y + w[name + '.bias'] if name + '.bias' in w else y

    x = w['model.embed_tokens.weight'][input_ids]  # (B,T,C)
    for i in range(config['num_hidden_layers']):
        p = f'model.layers.{i}.'
        h = rms_norm(x, w[p + 'input_layernorm.weight'], eps)
        q = linear(h, p + 'self_attn.q_proj').view(B, T, H, D).transpose(1, 2)  # (B,H,T,D)
        k = linear(h, p + 'self_attn.k_proj').view(B, T, KVH, D).transpose(1, 2)  # (B,KVH,T,D)
        v = linear(h, p + 'self_attn.v_proj').view(B, T, KVH, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KVH, dim=1)  # (B,H,T,D)
        v = v.repeat_interleave(H // KVH, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(D) + causal  # (B,H,T,T)
        attention = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, T, H * D)
        x = x + linear(attention, p + 'self_attn.o_proj')
        h2 = rms_norm(x, w[p + 'post_attention_layernorm.weight'], eps)
        gate, up = linear(h2, p + 'mlp.gate_proj'), linear(h2, p + 'mlp.up_proj')
        x = x + linear(torch.nn.functional.silu(gate) * up, p + 'mlp.down_proj')
    head = w['model.embed_tokens.weight'] if config['tie_word_embeddings'] else w['lm_head.weight']
    return rms_norm(x, w['model.norm.weight'], eps) @ head.T


def make_model_fixture(name, config, seed):
    generator = torch.Generator().manual_seed(seed)
    weights = make_weights(config, generator)
    V = config['vocab_size']
    input_ids = torch.randint(0, V, (BATCH, TOKENS), generator=generator)
    target_ids = torch.randint(0, V, (BATCH, TOKENS), generator=generator)
    w64 = {key: value.double().requires_grad_(True) for key, value in weights.items()}
    logits = forward(config, w64, input_ids)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), target_ids.reshape(-1))
    loss.backward()

    directory = os.path.join(OUT, name)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, 'config.json'), 'w') as file:
        json.dump(config, file, indent=2)
        file.write('\n')
    write_safetensors(os.path.join(directory, 'model.safetensors'), weights, {'format': 'pt'})
    expected = {
        'input_ids': input_ids.float(), 'target_ids': target_ids.float(),
        'logits': logits.detach().float(), 'loss': loss.detach().float().reshape(1),
    }
    for key, value in w64.items():
        expected['grad.' + key] = value.grad.float()
    write_safetensors(os.path.join(directory, 'expected.safetensors'), expected, {'format': 'pt'})
    with open(os.path.join(directory, 'expected.json'), 'w') as file:
        json.dump({
            'description': 'float64 reference of scripts/make-torch-fixture.py; loss = mean cross-entropy of logits (B,T,V) against target_ids over all B*T positions',
            'torch_version': torch.__version__,
            'input_ids': input_ids.tolist(), 'target_ids': target_ids.tolist(), 'loss': loss.item(),
            'tensors': {key: {'shape': list(value.shape), 'sum': value.double().sum().item(), 'head': value.flatten()[:3].tolist()}
                        for key, value in sorted(weights.items())},
        }, file, indent=1)
        file.write('\n')
    print(f'{name}: {sum(v.numel() for v in weights.values())} parameters, loss {loss.item():.6f}')


def make_dtype_fixture():
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(3, 5, generator=generator, dtype=torch.float64) * 3
    x[0, 0], x[0, 1] = 1e-6, -70000.0  # an F16 subnormal-range value and an F16 overflow (inf)
    tensors = {
        'x_f32': x.float(), 'x_f16': x.half(), 'x_bf16': x.bfloat16(), 'x_f64': x,
        'x_f16_as_f32': x.half().float(), 'x_bf16_as_f32': x.bfloat16().float(), 'x_f64_as_f32': x.float(),
    }
    write_safetensors(os.path.join(OUT, 'dtypes.safetensors'), tensors, {'format': 'pt', 'source': 'torch'})


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    make_model_fixture('tiny-qwen2', FIXTURES['tiny-qwen2'], seed=1)
    make_model_fixture('tiny-llama', FIXTURES['tiny-llama'], seed=2)
    make_dtype_fixture()
