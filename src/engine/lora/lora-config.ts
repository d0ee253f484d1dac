/**
 * What a LoRA adapter is: its rank, alpha and target modules, the weights of a model it adapts
 * (HF tensor names), and the PEFT names of its files: `adapter_config.json` (`r`, `lora_alpha`,
 * `target_modules`, ...) and tensors `base_model.model.<module>.lora_A.weight` (r, in) and
 * `.lora_B.weight` (out, r), the update being W' = W + (lora_alpha / r) B A. Tinker's create_model
 * `lora_config` (rank, train_attn, train_mlp, train_unembed) maps onto the same targets.
 */
import { z } from 'zod';
import { CheckpointError, ConfigError } from '../../errors.js';
import { modelDims, type ModelConfig } from '../model-config.js';

/** The linear modules a LoRA can adapt (HF module names of Llama/Qwen2). */
export const LORA_MODULES = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
  'lm_head',
] as const;

/** One adaptable module name. */
export type LoraModule = (typeof LORA_MODULES)[number];

/** A LoRA to train: rank r, alpha (scale alpha / r), target modules, and the seed of A's initialisation. */
export interface LoraSpec {
  rank: number;
  alpha: number;
  modules: LoraModule[];
  seed: number;
}

/** One adapted weight: its HF tensor name, PEFT module path and (out, in) shape. */
export interface LoraTarget {
  /** HF tensor name of the base weight, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  name: string;
  /** PEFT module path (the name without `.weight`). */
  module: string;
  out: number;
  in: number;
}

/** SkyRL fixes LoRA alpha at 32; turnwise serve does the same unless told otherwise. */
export const DEFAULT_LORA_ALPHA = 32;

/** The PEFT tensor name of a module's A or B matrix. */
export function peftTensorName(module: string, matrix: 'A' | 'B'): string {
  return `base_model.model.${module}.lora_${matrix}.weight`;
}

/** Checks a spec; a ConfigError names the bad field. */
export function checkLoraSpec(spec: LoraSpec): LoraSpec {
  if (!Number.isInteger(spec.rank) || spec.rank < 1)
    throw new ConfigError(`LoRA rank ${spec.rank} is invalid, expected an integer >= 1`);
  if (!(Number.isFinite(spec.alpha) && spec.alpha > 0))
    throw new ConfigError(`LoRA alpha ${spec.alpha} is invalid, expected a number > 0`);
  if (spec.modules.length === 0)
    throw new ConfigError('LoRA targets no module; expected at least one of attn, mlp, unembed');
  for (const module of spec.modules)
    if (!LORA_MODULES.includes(module))
      throw new ConfigError(
        `LoRA module ${JSON.stringify(module)} is unknown; expected one of ${LORA_MODULES.join(', ')}`,
      );
  return spec;
}

/** The spec of Tinker's create_model `lora_config` (train_* flags default true, as in the SDK). */
export function loraSpecFromTinker(
  config: { rank: number; seed?: number; train_attn?: boolean; train_mlp?: boolean; train_unembed?: boolean },
  alpha = DEFAULT_LORA_ALPHA,
): LoraSpec {
  const modules: LoraModule[] = [];
  if (config.train_attn ?? true) modules.push('q_proj', 'k_proj', 'v_proj', 'o_proj');
  if (config.train_mlp ?? true) modules.push('gate_proj', 'up_proj', 'down_proj');
  if (config.train_unembed ?? true) modules.push('lm_head');
  return checkLoraSpec({ rank: config.rank, alpha, modules, seed: config.seed ?? 0 });
}

/**
 * The weights a spec adapts in a model of `config`, in layer order. A tied model has no separate
 * `lm_head`: adapting the unembedding would change the input embedding too, so it is left out.
 */
export function loraTargets(config: ModelConfig, spec: Pick<LoraSpec, 'modules'>): LoraTarget[] {
  const { L, C, H, KVH, D, F, V } = modelDims(config);
  const shapes: Record<LoraModule, [string, number, number]> = {
    q_proj: ['self_attn', H * D, C],
    k_proj: ['self_attn', KVH * D, C],
    v_proj: ['self_attn', KVH * D, C],
    o_proj: ['self_attn', C, H * D],
    gate_proj: ['mlp', F, C],
    up_proj: ['mlp', F, C],
    down_proj: ['mlp', C, F],
    lm_head: ['', V, C],
  };
  const targets: LoraTarget[] = [];
  for (let l = 0; l < L; l++) {
    for (const module of LORA_MODULES) {
      if (module === 'lm_head' || !spec.modules.includes(module)) continue;
      const [parent, out, inner] = shapes[module];
      const path = `model.layers.${l}.${parent}.${module}`;
      targets.push({ name: `${path}.weight`, module: path, out, in: inner });
    }
  }
  if (spec.modules.includes('lm_head') && !config.tie_word_embeddings)
    targets.push({ name: 'lm_head.weight', module: 'lm_head', out: V, in: C });
  return targets;
}

/** The fields of a PEFT `adapter_config.json` that decide a merge (others are kept but not read). */
const AdapterConfigSchema = z.looseObject({
  peft_type: z.literal('LORA').optional(),
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  use_rslora: z.boolean().optional(),
  fan_in_fan_out: z.literal(false).optional(),
  use_dora: z.literal(false).optional(),
  rank_pattern: z.record(z.string(), z.unknown()).optional(),
  alpha_pattern: z.record(z.string(), z.unknown()).optional(),
  target_modules: z.union([z.array(z.string()), z.string(), z.null()]).optional(),
  base_model_name_or_path: z.union([z.string(), z.null()]).optional(),
});

/** A parsed adapter config. */
export type AdapterConfig = z.output<typeof AdapterConfigSchema>;

/** Validates an `adapter_config.json` object; a CheckpointError names every bad field. */
export function parseAdapterConfig(value: unknown, source: string): AdapterConfig {
  const result = AdapterConfigSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new CheckpointError(
      `${source} is not a LoRA adapter config turnwise can merge: ${problems.join('; ')} ` +
        '(expected peft_type LORA, integer r, lora_alpha, no fan_in_fan_out or DoRA)',
    );
  }
  const config = result.data;
  for (const key of ['rank_pattern', 'alpha_pattern'] as const) {
    if (Object.keys(config[key] ?? {}).length > 0)
      throw new CheckpointError(`${source}: ${key} (per-module ranks or alphas) is not supported; expected it empty`);
  }
  return config;
}

/** The scale of an adapter's update: lora_alpha / r, or lora_alpha / sqrt(r) with rsLoRA. */
export function adapterScale(config: AdapterConfig): number {
  return config.use_rslora ? config.lora_alpha / Math.sqrt(config.r) : config.lora_alpha / config.r;
}

/** The `adapter_config.json` of a spec, as PEFT writes it. */
export function peftAdapterConfig(spec: LoraSpec, baseModel: string): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: spec.rank,
    lora_alpha: spec.alpha,
    lora_dropout: 0,
    bias: 'none',
    target_modules: [...spec.modules],
    fan_in_fan_out: false,
    use_rslora: false,
    use_dora: false,
    init_lora_weights: true,
    inference_mode: true,
    rank_pattern: {},
    alpha_pattern: {},
  };
}
