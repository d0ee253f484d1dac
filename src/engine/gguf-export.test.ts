import { describe, expect, it } from 'vitest';
import { ggufModel, ggufTensorName, permuteForPairRope } from './gguf-export.js';
import { decodeGguf, encodeGguf } from './gguf-writer.js';
import { rope } from './kernels/reference/rope.js';
import { parseModelConfig, type ModelConfigInput } from './model-config.js';
import { initializeParameters, parameterLayout } from './parameters.js';
import type { TensorData } from './safetensors.js';
import { trainBpe } from './tokenizer/bpe-trainer.js';
import { buildTokenizerConfig, buildTokenizerJson } from './tokenizer/tokenizer-files.js';

const TEXT = 'the cat sat on the mat; the cat ate the rat. '.repeat(20);
const trained = trainBpe([TEXT], { vocabSize: 280 });
const tokenizer = buildTokenizerJson(trained);
const tokenizerConfig = buildTokenizerConfig(trained);

function model(overrides: Partial<ModelConfigInput> = {}) {
  const config = parseModelConfig({
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 24,
    vocab_size: 288,
    ...overrides,
  });
  const layout = parameterLayout(config);
  const params = new Float32Array(layout.totalSize);
  initializeParameters(params, layout, config, 1);
  const tensors = new Map<string, TensorData>(
    layout.tensors.map((t) => [t.name, { shape: t.shape, data: params.slice(t.offset, t.offset + t.size) }]),
  );
  return { config, tensors };
}

/** llama.cpp's NORM rope (ggml rope mode 0): adjacent pairs (2j, 2j+1) rotate by position * theta^(-2j/D). */
function pairRope(x: Float32Array, heads: number, D: number, position: number, theta: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++)
    for (let j = 0; j < D / 2; j++) {
      const angle = position * theta ** ((-2 * j) / D);
      const [a, b] = [x[h * D + 2 * j]!, x[h * D + 2 * j + 1]!];
      out[h * D + 2 * j] = a * Math.cos(angle) - b * Math.sin(angle);
      out[h * D + 2 * j + 1] = b * Math.cos(angle) + a * Math.sin(angle);
    }
  return out;
}

describe('GGUF export of the engine model', () => {
  it('maps every HF tensor name to its llama.cpp name', () => {
    expect(ggufTensorName('model.embed_tokens.weight')).toBe('token_embd.weight');
    expect(ggufTensorName('model.layers.3.self_attn.k_proj.bias')).toBe('blk.3.attn_k.bias');
    expect(ggufTensorName('model.layers.0.post_attention_layernorm.weight')).toBe('blk.0.ffn_norm.weight');
    expect(ggufTensorName('model.layers.1.mlp.down_proj.weight')).toBe('blk.1.ffn_down.weight');
    expect(ggufTensorName('lm_head.weight')).toBe('output.weight');
    expect(ggufTensorName('model.layers.0.self_attn.rotary_emb.inv_freq')).toBeUndefined();
  });

  it("permutes q/k rows so llama.cpp's pair RoPE equals the engine's rotate_half RoPE", () => {
    const [heads, D, theta, position] = [3, 8, 10000, 5];
    const x = Float32Array.from({ length: heads * D }, (_, i) => Math.sin(i + 1));
    const engine = new Float32Array(x.length);
    rope(engine, x, Int32Array.of(position), 1, heads, D, theta, false);
    const llama = pairRope(permuteForPairRope(x, heads, D), heads, D, position, theta);
    const expected = permuteForPairRope(engine, heads, D);
    for (let i = 0; i < x.length; i++) expect(llama[i]).toBeCloseTo(expected[i]!, 5);
    // Without the permutation the two conventions disagree.
    expect(Math.max(...pairRope(x, heads, D, position, theta).map((v, i) => Math.abs(v - engine[i]!)))).toBeGreaterThan(
      0.1,
    );
  });

  it('writes llama hyperparameters, permuted q/k, an untied head and F16 matrices with F32 norms', () => {
    const { config, tensors } = model();
    const gguf = decodeGguf(encodeGguf(ggufModel({ config, tensors, tokenizer, tokenizerConfig, dtype: 'f16' })));
    const m = gguf.metadata;
    expect(m.get('general.architecture')).toBe('llama');
    expect(m.get('general.file_type')).toBe(1);
    expect([m.get('llama.block_count'), m.get('llama.embedding_length'), m.get('llama.feed_forward_length')]).toEqual([
      2, 16, 24,
    ]);
    expect([m.get('llama.attention.head_count'), m.get('llama.attention.head_count_kv')]).toEqual([4, 2]);
    expect(m.get('llama.rope.dimension_count')).toBe(4);
    expect(m.get('llama.attention.layer_norm_rms_epsilon')).toBeCloseTo(1e-6, 12);
    expect(gguf.tensors.size).toBe(tensors.size);
    expect(gguf.tensors.get('output.weight')!.shape).toEqual([288, 16]);
    expect(gguf.tensors.get('blk.0.attn_norm.weight')!.dtype).toBe('F32');
    expect(gguf.tensors.get('blk.0.ffn_up.weight')!.dtype).toBe('F16');
    const k = tensors.get('model.layers.1.self_attn.k_proj.weight')!;
    const permuted = permuteForPairRope(k.data, 2, 4);
    const written = gguf.tensors.get('blk.1.attn_k.weight')!;
    for (let i = 0; i < permuted.length; i++) expect(written.data[i]).toBeCloseTo(permuted[i]!, 3);
  });

  it('writes qwen2 unpermuted, leaves out a tied head and gives zero biases to a bias-free qwen2', () => {
    const { config, tensors } = model({ model_type: 'qwen2', tie_word_embeddings: true });
    const gguf = decodeGguf(encodeGguf(ggufModel({ config, tensors, tokenizer, tokenizerConfig })));
    expect(gguf.metadata.get('general.architecture')).toBe('qwen2');
    expect(gguf.tensors.has('output.weight')).toBe(false);
    expect(gguf.tensors.get('blk.0.attn_q.weight')!.data).toEqual(
      tensors.get('model.layers.0.self_attn.q_proj.weight')!.data,
    );
    expect(gguf.tensors.get('blk.0.attn_q.bias')!.data).toEqual(
      tensors.get('model.layers.0.self_attn.q_proj.bias')!.data,
    );
    const bare = model({ model_type: 'qwen2', attention_bias: false });
    const zeros = decodeGguf(encodeGguf(ggufModel({ ...bare, tokenizer, tokenizerConfig })));
    expect(Array.from(zeros.tensors.get('blk.1.attn_v.bias')!.data)).toEqual(new Array(8).fill(0));
  });

  it('writes the tokenizer as gpt2 / qwen2 with types, merges, special ids, padding rows and the chat template', () => {
    const { config, tensors } = model();
    const m = decodeGguf(encodeGguf(ggufModel({ config, tensors, tokenizer, tokenizerConfig }))).metadata;
    expect([m.get('tokenizer.ggml.model'), m.get('tokenizer.ggml.pre')]).toEqual(['gpt2', 'qwen2']);
    const tokens = m.get('tokenizer.ggml.tokens') as string[];
    const types = m.get('tokenizer.ggml.token_type') as number[];
    expect(tokens).toHaveLength(288);
    expect(tokens.slice(0, trained.vocab.length)).toEqual(trained.vocab);
    const imEnd = tokens.indexOf('<|im_end|>');
    expect(imEnd).toBe(trained.addedTokens.find((t) => t.content === '<|im_end|>')!.id);
    expect(types[imEnd]).toBe(3);
    expect(types[0]).toBe(1);
    expect([tokens[287], types[287]]).toEqual(['[PAD287]', 5]);
    expect(m.get('tokenizer.ggml.merges')).toEqual(trained.merges.map(([a, b]) => `${a} ${b}`));
    expect(m.get('tokenizer.ggml.eos_token_id')).toBe(imEnd);
    expect(m.get('tokenizer.ggml.bos_token_id')).toBe(tokens.indexOf('<|endoftext|>'));
    expect(m.get('tokenizer.ggml.add_bos_token')).toBe(false);
    expect(m.get('tokenizer.chat_template')).toBe(tokenizerConfig.chat_template);
  });

  it('refuses a pre-tokenizer llama.cpp cannot reproduce, a token beyond the vocab, a tensor with no GGUF name', () => {
    const { config, tensors } = model();
    const gpt2 = trainBpe([TEXT], { vocabSize: 280, splitPattern: ' ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+' });
    expect(() => ggufModel({ config, tensors, tokenizer: buildTokenizerJson(gpt2), source: 'run/ckpt' })).toThrow(
      /run\/ckpt: the tokenizer's pre-tokenizer regex .* is not the Qwen2 pattern/,
    );
    const small = model({ vocab_size: 270 });
    expect(() => ggufModel({ ...small, tokenizer })).toThrow(/has id 27\d, outside the model's vocab_size 270/);
    const extra = new Map(tensors).set('model.layers.0.self_attn.rotary_emb.inv_freq', {
      shape: [2],
      data: new Float32Array(2),
    });
    expect(() => ggufModel({ config, tensors: extra, tokenizer })).toThrow(
      /rotary_emb\.inv_freq has no llama\.cpp llama counterpart/,
    );
  });
});
