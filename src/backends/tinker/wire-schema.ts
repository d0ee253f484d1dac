/**
 * The JSON wire format of the Tinker HTTP protocol (see shared/ref/tinker-protocol.md section 1.5),
 * as zod schemas: the server validates every request body with them, the client builds bodies of
 * the inferred types. Bodies are loose objects (SDKs add telemetry fields); the parts whose keys
 * carry meaning (`loss_fn_config`, the turnwise extension) are strict.
 *
 * The `turnwise` extension rides in `forward_backward_input` and is sent only to servers that
 * advertise it (`turnwise serve`): it carries the exact `LossSpec` and sampling temperature so a
 * remote step is bit-identical to an in-process one.
 */
import { z } from 'zod';

const finite = z.number().refine(Number.isFinite, { message: 'expected a finite number' });
const tokenId = z.number().int().nonnegative();

/** A flat tensor (row-major `data`); dtype and shape are informative, only `data` is read. */
export const TensorDataSchema = z.looseObject({
  data: z.array(finite),
  dtype: z.enum(['int64', 'int32', 'float32', 'float64', 'bfloat16']).optional(),
  shape: z.array(z.number().int().nonnegative()).optional(),
});
export type TensorData = z.infer<typeof TensorDataSchema>;

const EncodedTextChunkSchema = z.looseObject({ type: z.literal('encoded_text'), tokens: z.array(tokenId) });

/** A model input: only `encoded_text` chunks are supported (no images). */
export const ModelInputSchema = z.looseObject({
  chunks: z.array(EncodedTextChunkSchema).min(1, { message: 'model_input needs at least one encoded_text chunk' }),
});
export type ModelInput = z.infer<typeof ModelInputSchema>;

/** One training example on the wire. */
export const WireDatumSchema = z.looseObject({
  model_input: ModelInputSchema,
  loss_fn_inputs: z.record(z.string(), TensorDataSchema),
});
export type WireDatum = z.infer<typeof WireDatumSchema>;

/** The exact backend loss, mirrored from `LossSpec` in backends/backend.ts. */
export const LossSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('ppo'),
    clipLow: finite,
    clipHigh: finite,
    klBeta: finite,
    normalization: z.enum(['token-mean', 'sequence-mean']),
  }),
  z.strictObject({ kind: z.literal('importance_sampling'), normalization: z.enum(['token-mean', 'sequence-mean']) }),
  z.strictObject({ kind: z.literal('cross_entropy') }),
]);

/** The turnwise extension of a forward(_backward) input (only for servers that advertise it). */
export const TurnwiseExtensionSchema = z.strictObject({
  /** The loss as the caller specified it; absent on forward-only requests. */
  loss: LossSpecSchema.optional(),
  temperature: finite.refine((t) => t > 0, { message: 'temperature must be > 0' }),
  /** Position of this request among the chunks of one call; the server runs the call on the last. */
  chunk: z.strictObject({ index: z.number().int().nonnegative(), count: z.number().int().positive() }),
});
export type TurnwiseExtension = z.infer<typeof TurnwiseExtensionSchema>;

/** The Tinker loss functions turnwise maps onto. */
export const WIRE_LOSS_FNS = ['cross_entropy', 'importance_sampling', 'ppo'] as const;
export type WireLossFn = (typeof WIRE_LOSS_FNS)[number];

export const ForwardBackwardInputSchema = z.looseObject({
  data: z.array(WireDatumSchema).min(1, { message: 'data needs at least one datum' }),
  loss_fn: z.string(),
  loss_fn_config: z.record(z.string(), finite).nullish(),
  turnwise: TurnwiseExtensionSchema.optional(),
});
export type ForwardBackwardInput = z.infer<typeof ForwardBackwardInputSchema>;

const seqId = z.number().int().nonnegative().optional();

export const ForwardBackwardRequestSchema = z.looseObject({
  forward_backward_input: ForwardBackwardInputSchema,
  model_id: z.string(),
  seq_id: seqId,
});
export const ForwardRequestSchema = z.looseObject({
  forward_input: ForwardBackwardInputSchema,
  model_id: z.string(),
  seq_id: seqId,
});

export const CreateSessionRequestSchema = z.looseObject({
  tags: z.array(z.string()).optional(),
  user_metadata: z.record(z.string(), z.unknown()).nullish(),
  sdk_version: z.string().optional(),
});
export const SessionHeartbeatRequestSchema = z.looseObject({ session_id: z.string() });

export const LoraConfigSchema = z.looseObject({
  rank: z.number().int().nonnegative(),
  seed: z.number().int().optional(),
  train_attn: z.boolean().optional(),
  train_mlp: z.boolean().optional(),
  train_unembed: z.boolean().optional(),
});
export const CreateModelRequestSchema = z.looseObject({
  session_id: z.string(),
  model_seq_id: z.number().int().nonnegative().optional(),
  base_model: z.string(),
  lora_config: LoraConfigSchema.optional(),
  user_metadata: z.record(z.string(), z.unknown()).nullish(),
});

export const WireAdamParamsSchema = z.looseObject({
  learning_rate: finite.refine((v) => v >= 0, { message: 'learning_rate must be >= 0' }),
  beta1: finite,
  beta2: finite,
  eps: finite,
  weight_decay: finite.default(0),
  grad_clip_norm: finite.default(0),
});
export type WireAdamParams = z.infer<typeof WireAdamParamsSchema>;
export const OptimStepRequestSchema = z.looseObject({
  adam_params: WireAdamParamsSchema,
  model_id: z.string(),
  seq_id: seqId,
});

const checkpointName = z
  .string()
  .regex(/^[a-zA-Z0-9_-]{1,255}$/, { message: 'path must match ^[a-zA-Z0-9_-]+$ (at most 255 characters)' });
export const SaveWeightsRequestSchema = z.looseObject({
  model_id: z.string(),
  path: checkpointName.optional(),
  seq_id: seqId,
});
export const SaveWeightsForSamplerRequestSchema = z.looseObject({
  model_id: z.string(),
  path: checkpointName.optional(),
  sampling_session_seq_id: z.number().int().nonnegative().optional(),
  seq_id: seqId,
});
export const LoadWeightsRequestSchema = z.looseObject({
  model_id: z.string(),
  path: z.string(),
  optimizer: z.boolean().default(false),
  seq_id: seqId,
});
export const ModelIdRequestSchema = z.looseObject({ model_id: z.string() });

export const CreateSamplingSessionRequestSchema = z.looseObject({
  session_id: z.string(),
  sampling_session_seq_id: z.number().int().nonnegative(),
  base_model: z.string().optional(),
  model_path: z.string().optional(),
});

export const WireSamplingParamsSchema = z.looseObject({
  max_tokens: z.number().int().positive({ message: 'max_tokens must be a positive integer' }),
  seed: z.number().int().optional(),
  // Strings or token ids; `turnwise serve` also takes both in one list (hosted Tinker and SkyRL do not).
  stop: z.union([z.string(), z.array(z.union([z.string(), tokenId]))]).nullish(),
  temperature: finite.refine((t) => t > 0, { message: 'temperature must be > 0' }).default(1),
  top_k: z.number().int().default(-1),
  top_p: finite.refine((p) => p > 0 && p <= 1, { message: 'top_p must be in (0, 1]' }).default(1),
});
export type WireSamplingParams = z.infer<typeof WireSamplingParamsSchema>;

export const SampleRequestSchema = z.looseObject({
  num_samples: z.number().int().positive().default(1),
  prompt: ModelInputSchema,
  sampling_params: WireSamplingParamsSchema,
  base_model: z.string().optional(),
  model_path: z.string().optional(),
  sampling_session_id: z.string().optional(),
  seq_id: seqId,
  prompt_logprobs: z.boolean().optional(),
  topk_prompt_logprobs: z.number().int().nonnegative().optional(),
});
export type WireSampleRequest = z.input<typeof SampleRequestSchema>;

export const RetrieveFutureRequestSchema = z.looseObject({
  request_id: z.string(),
  allow_metadata_only: z.boolean().optional(),
});

/** The immediate answer of every submit endpoint. */
export interface UntypedFuture {
  request_id: string;
  model_id?: string;
}

/** A still-running future. */
export interface TryAgainResponse {
  type: 'try_again';
  request_id: string;
  queue_state: 'active' | 'paused_capacity' | 'paused_rate_limit';
  queue_state_reason?: string;
}

/** A failed future (hosted Tinker shape). */
export interface RequestFailedResponse {
  error: string;
  category: 'unknown' | 'server' | 'user';
}

/** Result of forward / forward_backward. */
export interface ForwardBackwardOutput {
  loss_fn_output_type: string;
  loss_fn_outputs: Record<string, TensorData>[];
  metrics: Record<string, number>;
  /** turnwise extension: the exact loss of the whole (unchunked) call. */
  turnwise?: { loss: number; metrics: Record<string, number> };
}

/** One sampled sequence. */
export interface SampledSequence {
  stop_reason: 'length' | 'stop';
  tokens: number[];
  logprobs?: number[];
}

/** Result of asample. */
export interface SampleResponse {
  type?: 'sample';
  sequences: SampledSequence[];
  prompt_logprobs?: (number | null)[] | null;
}

/** Wraps a list of token ids as a single-chunk model input. */
export function modelInput(tokens: number[]): ModelInput {
  return { chunks: [{ type: 'encoded_text', tokens }] };
}

/** Concatenates the tokens of every chunk of a model input. */
export function modelInputTokens(input: ModelInput): number[] {
  return input.chunks.flatMap((chunk) => chunk.tokens);
}
