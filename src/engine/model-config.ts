/**
 * The model configuration of the CPU engine, with the field names of a Hugging Face `config.json`
 * for the Llama / Qwen2 family, so a config written by transformers loads as is and the engine's
 * own checkpoints are readable by transformers. Validated with zod; bad values give a ConfigError
 * naming the field and what was expected.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';

const positiveInt = z.number().int().positive();

/** The zod schema of a model `config.json` (unknown fields are kept, as transformers writes many). */
export const ModelConfigSchema = z
  .looseObject({
    architectures: z.array(z.string()).optional(),
    model_type: z.enum(['llama', 'qwen2']).default('llama'),
    hidden_size: positiveInt,
    num_hidden_layers: positiveInt,
    num_attention_heads: positiveInt,
    /** Defaults to num_attention_heads (no grouped-query attention). */
    num_key_value_heads: positiveInt.optional(),
    intermediate_size: positiveInt,
    /** Only SwiGLU (`silu`) MLPs are supported. */
    hidden_act: z.literal('silu').default('silu'),
    rope_theta: z.number().positive().default(10000),
    rms_norm_eps: z.number().positive().default(1e-6),
    vocab_size: positiveInt,
    tie_word_embeddings: z.boolean().default(false),
    /** Bias on the q/k/v projections; Qwen2 always has it, Llama when this is true. */
    attention_bias: z.boolean().optional(),
    max_position_embeddings: positiveInt.default(2048),
    torch_dtype: z.enum(['float32', 'float16', 'bfloat16']).default('float32'),
    head_dim: positiveInt.optional(),
    rope_scaling: z.null().optional(),
    bos_token_id: z.union([z.number().int(), z.null()]).optional(),
    eos_token_id: z.union([z.number().int(), z.array(z.number().int()), z.null()]).optional(),
  })
  .superRefine((config, context) => {
    if (config.hidden_size % config.num_attention_heads !== 0) {
      context.addIssue({
        code: 'custom',
        path: ['hidden_size'],
        message:
          `hidden_size ${config.hidden_size} must be a multiple ` +
          `of num_attention_heads ${config.num_attention_heads}`,
      });
    }
    const kvHeads = config.num_key_value_heads ?? config.num_attention_heads;
    if (config.num_attention_heads % kvHeads !== 0) {
      context.addIssue({
        code: 'custom',
        path: ['num_key_value_heads'],
        message:
          `num_attention_heads ${config.num_attention_heads} ` + `must be a multiple of num_key_value_heads ${kvHeads}`,
      });
    }
    const headDim = config.hidden_size / config.num_attention_heads;
    if (config.head_dim !== undefined && config.head_dim !== headDim) {
      context.addIssue({
        code: 'custom',
        path: ['head_dim'],
        message: `head_dim ${config.head_dim} must equal hidden_size / num_attention_heads = ${headDim}`,
      });
    }
    if (Number.isInteger(headDim) && headDim % 2 !== 0) {
      context.addIssue({
        code: 'custom',
        path: ['hidden_size'],
        message: `the head dimension ${headDim} must be even for RoPE`,
      });
    }
  });

/** A validated model configuration (Hugging Face `config.json` field names). */
export type ModelConfig = z.output<typeof ModelConfigSchema>;

/** The raw shape accepted by `parseModelConfig` (defaults may be omitted). */
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;

/** The derived sizes every part of the engine uses. */
export interface ModelDims {
  /** Layers. */
  L: number;
  /** Channels (hidden_size). */
  C: number;
  /** Query heads. */
  H: number;
  /** Key/value heads. */
  KVH: number;
  /** Head dimension. */
  D: number;
  /** MLP hidden size. */
  F: number;
  /** Vocabulary size. */
  V: number;
  /** True when q/k/v projections have a bias. */
  qkvBias: boolean;
}

/** Validates a `config.json` object; throws a ConfigError listing every bad field. */
export function parseModelConfig(input: unknown, source = 'model config'): ModelConfig {
  const result = ModelConfigSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ConfigError(`invalid ${source}: ${problems.join('; ')}`);
  }
  return result.data;
}

/** The sizes of a validated config. */
export function modelDims(config: ModelConfig): ModelDims {
  const H = config.num_attention_heads;
  return {
    L: config.num_hidden_layers,
    C: config.hidden_size,
    H,
    KVH: config.num_key_value_heads ?? H,
    D: config.hidden_size / H,
    F: config.intermediate_size,
    V: config.vocab_size,
    qkvBias: config.attention_bias ?? config.model_type === 'qwen2',
  };
}

/** The config as written to `config.json` next to a checkpoint (defaults filled in). */
export function configToJson(config: ModelConfig): Record<string, unknown> {
  const dims = modelDims(config);
  return {
    ...config,
    architectures: config.architectures ?? [config.model_type === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    num_key_value_heads: dims.KVH,
    attention_bias: dims.qkvBias,
    head_dim: dims.D,
  };
}
