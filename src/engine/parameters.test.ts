import { describe, expect, it } from 'vitest';
import { parseModelConfig } from './model-config.js';
import { parameterLayout } from './parameters.js';

const BASE = {
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  intermediate_size: 12,
  vocab_size: 10,
};

describe('parameterLayout', () => {
  it('lists Hugging Face names and shapes with 16-float aligned offsets', () => {
    const layout = parameterLayout(parseModelConfig({ ...BASE, model_type: 'qwen2' }));
    const names = layout.tensors.map((t) => t.name);
    expect(names).toEqual([
      'model.embed_tokens.weight',
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.q_proj.bias',
      'model.layers.0.self_attn.k_proj.weight',
      'model.layers.0.self_attn.k_proj.bias',
      'model.layers.0.self_attn.v_proj.weight',
      'model.layers.0.self_attn.v_proj.bias',
      'model.layers.0.self_attn.o_proj.weight',
      'model.layers.0.post_attention_layernorm.weight',
      'model.layers.0.mlp.gate_proj.weight',
      'model.layers.0.mlp.up_proj.weight',
      'model.layers.0.mlp.down_proj.weight',
      'model.norm.weight',
      'lm_head.weight',
    ]);
    const k = layout.tensors.find((t) => t.name.endsWith('k_proj.weight'))!;
    expect(k.shape).toEqual([4, 8]);
    for (const tensor of layout.tensors) expect(tensor.offset % 16).toBe(0);
    expect(layout.parameterCount).toBe(layout.tensors.reduce((sum, t) => sum + t.size, 0));
  });

  it('has no lm_head when embeddings are tied', () => {
    const layout = parameterLayout(parseModelConfig({ ...BASE, tie_word_embeddings: true }));
    expect(layout.tensors.some((t) => t.name === 'lm_head.weight')).toBe(false);
  });
});
