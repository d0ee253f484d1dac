/**
 * The engine's model as a llama.cpp GGUF file (`turnwise export --format gguf`): the Llama / Qwen2
 * weights under llama.cpp's tensor names (gguf-py constants.py: `token_embd`, `blk.N.attn_q`, ...,
 * `output`, left out when the embedding is tied, as llama.cpp then reuses `token_embd`), the
 * architecture's hyperparameters, and the byte-level BPE tokenizer of `tokenizer.json` as
 * `tokenizer.ggml.*` (model `gpt2`, tokens, types, merges, special ids, the chat template).
 *
 * RoPE: the engine rotates dimension i with i + D/2 (HF `rotate_half`). llama.cpp's `qwen2` uses that
 * (NEOX) layout; its `llama` rotates adjacent pairs, so for `llama` the rows of q and k (and their
 * biases) are permuted within each head as convert_hf_to_gguf.py's `LlamaModel.permute` does: row
 * 2j+s of a head is HF row s*D/2+j. The pre-tokenizer must be the Qwen2 split regex (`qwen2` in
 * llama.cpp, which has no way to take another regex from the file); NFC normalisation is not
 * applied by llama.cpp, so only non-NFC text can tokenise differently.
 */
import { ConfigError } from '../errors.js';
import type { GgufContents, GgufTensor, GgufValue } from './gguf-writer.js';
import { modelDims, type ModelConfig } from './model-config.js';
import type { TensorData } from './safetensors.js';
import { QWEN2_SPLIT_PATTERN } from './tokenizer/byte-level.js';

/** What `ggufModel` converts. */
export interface GgufModelInput {
  config: ModelConfig;
  /** Weights by HF name (shapes as `parameterShapes(config)`). */
  tensors: ReadonlyMap<string, TensorData>;
  /** The parsed `tokenizer.json` (byte-level BPE with the Qwen2 pre-tokenizer). */
  tokenizer: unknown;
  /** The parsed `tokenizer_config.json` (eos/pad/bos tokens, chat template), if any. */
  tokenizerConfig?: unknown;
  /** Matrices as F32 (default) or F16; norms and biases stay F32 as in llama.cpp's converter. */
  dtype?: 'f32' | 'f16';
  /** `general.name` (default `turnwise`). */
  name?: string;
  /** Where the input came from, for error messages. */
  source?: string;
}

/** llama.cpp token types (llama-vocab.h). */
const TOKEN_TYPE = { normal: 1, control: 3, userDefined: 4, unused: 5 } as const;

/** HF name (after `model.layers.N.`) to llama.cpp name (after `blk.N.`). */
const LAYER_NAMES: Record<string, string> = {
  'input_layernorm.weight': 'attn_norm.weight',
  'self_attn.q_proj.weight': 'attn_q.weight',
  'self_attn.q_proj.bias': 'attn_q.bias',
  'self_attn.k_proj.weight': 'attn_k.weight',
  'self_attn.k_proj.bias': 'attn_k.bias',
  'self_attn.v_proj.weight': 'attn_v.weight',
  'self_attn.v_proj.bias': 'attn_v.bias',
  'self_attn.o_proj.weight': 'attn_output.weight',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'mlp.gate_proj.weight': 'ffn_gate.weight',
  'mlp.up_proj.weight': 'ffn_up.weight',
  'mlp.down_proj.weight': 'ffn_down.weight',
};
const TOP_NAMES: Record<string, string> = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight',
};

/** llama.cpp's name of an HF tensor name, or undefined for a name it has no place for. */
export function ggufTensorName(hfName: string): string | undefined {
  const layer = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  if (!layer) return TOP_NAMES[hfName];
  const rest = LAYER_NAMES[layer[2]!];
  return rest === undefined ? undefined : `blk.${layer[1]}.${rest}`;
}

/** Rows of a (heads*D, ...) q or k weight (or bias) reordered from HF's rotate_half to llama.cpp's pairs. */
export function permuteForPairRope(data: Float32Array, heads: number, D: number): Float32Array {
  const rowLength = data.length / (heads * D);
  const out = new Float32Array(data.length);
  const half = D / 2;
  for (let h = 0; h < heads; h++)
    for (let j = 0; j < half; j++)
      for (let s = 0; s < 2; s++) {
        const from = (h * D + s * half + j) * rowLength;
        out.set(data.subarray(from, from + rowLength), (h * D + 2 * j + s) * rowLength);
      }
  return out;
}

/** The GGUF metadata and tensors of an engine model and its tokenizer. */
export function ggufModel(input: GgufModelInput): GgufContents {
  const { config } = input;
  const source = input.source ?? 'model';
  const dims = modelDims(config);
  const architecture = config.model_type === 'qwen2' ? 'qwen2' : 'llama';
  const dtype = input.dtype ?? 'f32';
  const metadata = new Map<string, GgufValue>();
  const u32 = (value: number): GgufValue => ({ type: 'uint32', value });
  const f32 = (value: number): GgufValue => ({ type: 'float32', value });
  metadata.set('general.architecture', { type: 'string', value: architecture });
  metadata.set('general.name', { type: 'string', value: input.name ?? 'turnwise' });
  metadata.set('general.file_type', u32(dtype === 'f16' ? 1 : 0)); // LLAMA_FTYPE_ALL_F32 / MOSTLY_F16
  metadata.set(`${architecture}.context_length`, u32(config.max_position_embeddings));
  metadata.set(`${architecture}.embedding_length`, u32(dims.C));
  metadata.set(`${architecture}.block_count`, u32(dims.L));
  metadata.set(`${architecture}.feed_forward_length`, u32(dims.F));
  metadata.set(`${architecture}.attention.head_count`, u32(dims.H));
  metadata.set(`${architecture}.attention.head_count_kv`, u32(dims.KVH));
  metadata.set(`${architecture}.rope.freq_base`, f32(config.rope_theta));
  metadata.set(`${architecture}.rope.dimension_count`, u32(dims.D));
  metadata.set(`${architecture}.attention.layer_norm_rms_epsilon`, f32(config.rms_norm_eps));
  metadata.set(`${architecture}.vocab_size`, u32(dims.V));
  for (const [key, value] of ggufTokenizer(input.tokenizer, input.tokenizerConfig, config, source))
    metadata.set(key, value);

  const tensors: GgufTensor[] = [];
  for (const [hfName, tensor] of input.tensors) {
    const name = ggufTensorName(hfName);
    if (name === undefined)
      throw new ConfigError(
        `${source}: tensor ${hfName} has no llama.cpp ${architecture} counterpart; cannot export it`,
      );
    let data = tensor.data;
    if (architecture === 'llama' && /\.attn_[qk]\./.test(name))
      data = permuteForPairRope(data, name.includes('.attn_q.') ? dims.H : dims.KVH, dims.D);
    tensors.push({
      name,
      shape: tensor.shape,
      data,
      dtype: dtype === 'f16' && tensor.shape.length >= 2 ? 'F16' : 'F32',
    });
  }
  if (architecture === 'qwen2' && !dims.qkvBias) {
    // llama.cpp's qwen2 graph expects q/k/v biases; zeros are the same model.
    for (let l = 0; l < dims.L; l++)
      for (const [part, size] of [
        ['q', dims.H * dims.D],
        ['k', dims.KVH * dims.D],
        ['v', dims.KVH * dims.D],
      ] as const)
        tensors.push({ name: `blk.${l}.attn_${part}.bias`, shape: [size], data: new Float32Array(size), dtype: 'F32' });
  }
  return { metadata, tensors };
}

/** The `tokenizer.ggml.*` and `tokenizer.chat_template` keys of a byte-level BPE `tokenizer.json`. */
function ggufTokenizer(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  config: ModelConfig,
  source: string,
): Map<string, GgufValue> {
  const json = objectOr(tokenizerJson);
  const model = objectOr(json.model);
  if (model.type !== 'BPE' || !isObject(model.vocab))
    throw new ConfigError(
      `${source}: tokenizer.json must hold a BPE model with a vocab, got type ${String(model.type)}`,
    );
  const pattern = splitPattern(json.pre_tokenizer);
  if (pattern !== QWEN2_SPLIT_PATTERN)
    throw new ConfigError(
      `${source}: the tokenizer's pre-tokenizer regex ${JSON.stringify(pattern ?? null)} is not the Qwen2 pattern, ` +
        "the one llama.cpp's tokenizer.ggml.pre 'qwen2' implements; GGUF cannot carry another",
    );
  const V = config.vocab_size;
  const tokens: Array<string | undefined> = new Array(V).fill(undefined);
  const types = new Int32Array(V).fill(TOKEN_TYPE.normal);
  const place = (id: unknown, text: string, type: number) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= V)
      throw new ConfigError(
        `${source}: token ${JSON.stringify(text)} has id ${String(id)}, outside the model's vocab_size ${V}`,
      );
    tokens[id] = text;
    types[id] = type;
  };
  for (const [text, id] of Object.entries(model.vocab)) place(id, text, TOKEN_TYPE.normal);
  const added = Array.isArray(json.added_tokens) ? json.added_tokens.filter(isObject) : [];
  for (const token of added)
    place(token.id, String(token.content), token.special === true ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined);
  for (let id = 0; id < V; id++) {
    if (tokens[id] !== undefined) continue;
    tokens[id] = `[PAD${id}]`; // the model's rows past the tokenizer, named as convert_hf_to_gguf.py does
    types[id] = TOKEN_TYPE.unused;
  }
  const merges = (Array.isArray(model.merges) ? model.merges : []).map((merge: unknown) =>
    Array.isArray(merge) ? merge.join(' ') : String(merge),
  );
  const keys = new Map<string, GgufValue>([
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: 'qwen2' }],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: tokens as string[] }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'int32', value: types }],
    ['tokenizer.ggml.merges', { type: 'array', itemType: 'string', value: merges }],
  ]);
  const settings = objectOr(tokenizerConfig);
  const idOf = (token: unknown): number | undefined => {
    const text = isObject(token) ? token.content : token;
    if (typeof text !== 'string') return undefined;
    const index = tokens.indexOf(text);
    return index >= 0 ? index : undefined;
  };
  const eos = idOf(settings.eos_token) ?? idOf('<|endoftext|>') ?? singleId(config.eos_token_id);
  const bos = idOf(settings.bos_token) ?? singleId(config.bos_token_id) ?? idOf('<|endoftext|>');
  const pad = idOf(settings.pad_token) ?? idOf('<|endoftext|>');
  if (bos !== undefined) keys.set('tokenizer.ggml.bos_token_id', { type: 'uint32', value: bos });
  if (eos !== undefined) keys.set('tokenizer.ggml.eos_token_id', { type: 'uint32', value: eos });
  if (pad !== undefined) keys.set('tokenizer.ggml.padding_token_id', { type: 'uint32', value: pad });
  keys.set('tokenizer.ggml.add_bos_token', { type: 'bool', value: settings.add_bos_token === true });
  if (typeof settings.chat_template === 'string')
    keys.set('tokenizer.chat_template', { type: 'string', value: settings.chat_template });
  return keys;
}

/** The Split regex of a Qwen2-style pre-tokenizer (a Split alone or inside a Sequence). */
function splitPattern(preTokenizer: unknown): string | undefined {
  if (!isObject(preTokenizer)) return undefined;
  const parts = preTokenizer.type === 'Sequence' ? preTokenizer.pretokenizers : [preTokenizer];
  if (!Array.isArray(parts)) return undefined;
  const byteLevel = parts.some((part) => isObject(part) && part.type === 'ByteLevel');
  const split = parts.find((part) => isObject(part) && part.type === 'Split');
  const regex = isObject(split) && isObject(split.pattern) ? split.pattern.Regex : undefined;
  return byteLevel && typeof regex === 'string' ? regex : undefined;
}

function singleId(id: number | number[] | null | undefined): number | undefined {
  return Array.isArray(id) ? id[0] : (id ?? undefined);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectOr(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}
