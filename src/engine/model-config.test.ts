import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { configToJson, modelDims, parseModelConfig } from './model-config.js';

const BASE = { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, vocab_size: 100 };

describe('parseModelConfig', () => {
  it('fills Hugging Face defaults and derives the sizes', () => {
    const config = parseModelConfig(BASE);
    expect(config.rope_theta).toBe(10000);
    expect(config.tie_word_embeddings).toBe(false);
    expect(modelDims(config)).toEqual({ L: 2, C: 64, H: 4, KVH: 4, D: 16, F: 128, V: 100, qkvBias: false });
  });

  it('gives Qwen2 a QKV bias by default and keeps unknown transformers fields', () => {
    const config = parseModelConfig({
      ...BASE,
      model_type: 'qwen2',
      num_key_value_heads: 2,
      use_sliding_window: false,
    });
    expect(modelDims(config).qkvBias).toBe(true);
    expect(modelDims(config).KVH).toBe(2);
    expect((config as Record<string, unknown>).use_sliding_window).toBe(false);
    expect(configToJson(config)).toMatchObject({
      architectures: ['Qwen2ForCausalLM'],
      attention_bias: true,
      head_dim: 16,
    });
  });

  it('names the field and the constraint when heads do not divide', () => {
    expect(() => parseModelConfig({ ...BASE, num_key_value_heads: 3 })).toThrow(ConfigError);
    expect(() => parseModelConfig({ ...BASE, num_key_value_heads: 3 })).toThrow(
      /num_key_value_heads: num_attention_heads 4 must be a multiple/,
    );
    expect(() => parseModelConfig({ ...BASE, hidden_size: 66 })).toThrow(/hidden_size/);
  });

  it('rejects missing or mistyped fields and unsupported activations', () => {
    expect(() => parseModelConfig({ ...BASE, vocab_size: undefined })).toThrow(/vocab_size/);
    expect(() => parseModelConfig({ ...BASE, hidden_size: '64' })).toThrow(/hidden_size/);
    expect(() => parseModelConfig({ ...BASE, hidden_act: 'gelu' })).toThrow(/hidden_act/);
  });
});
