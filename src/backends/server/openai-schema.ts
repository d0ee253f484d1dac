/**
 * The request schemas of the OpenAI-compatible routes (`/v1/completions`, `/v1/chat/completions`)
 * with the vLLM extensions an RL client needs, and `OpenAiError`, a refusal in OpenAI's error shape
 * (`{error: {message, type, param, code}}`). Parameters the server cannot honour are refused by
 * name (`refuseUnsupported`) rather than ignored; unknown keys are ignored as OpenAI's own
 * metadata fields (`user`, `store`, `metadata`, ...) are.
 */
import { z } from 'zod';
import { HttpError } from './http-io.js';

/** A refusal with OpenAI's `param` and `code` fields. */
export class OpenAiError extends HttpError {
  override name = 'OpenAiError';
  constructor(
    status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(status, message);
  }
}

const tokenIds = z.array(z.number().int().nonnegative());

const SamplingFields = {
  model: z.string({ message: 'model is required: send the served model name (GET /v1/models lists it)' }),
  temperature: z.number().min(0, { message: 'temperature must be >= 0 (0 = greedy)' }).nullish(),
  top_p: z.number().gt(0).lte(1).nullish(),
  top_k: z.number().int().nullish(),
  n: z.number().int().positive().max(64).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string().min(1, { message: 'a stop string must not be empty' }))]).nullish(),
  stop_token_ids: tokenIds.nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  include_stop_str_in_output: z.boolean().nullish(),
  skip_special_tokens: z.boolean().nullish(),
  return_token_ids: z.boolean().nullish(),
  return_tokens_as_token_ids: z.boolean().nullish(),
  frequency_penalty: z.number().nullish(),
  presence_penalty: z.number().nullish(),
  repetition_penalty: z.number().nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
};

/** The fields every sampling request shares. */
export type SamplingRequest = z.infer<z.ZodObject<typeof SamplingFields>>;

/** `POST /v1/completions`. */
export const CompletionRequestSchema = z.looseObject({
  ...SamplingFields,
  prompt: z.union([z.string(), tokenIds, z.array(z.string()), z.array(tokenIds)]),
  max_tokens: z.number().int().positive().nullish(),
  logprobs: z.number().int().min(0).max(20, { message: 'logprobs must be at most 20' }).nullish(),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  best_of: z.number().int().nullish(),
});
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

const ContentSchema = z.union([
  z.string(),
  z.array(z.looseObject({ type: z.string(), text: z.string().optional() })),
  z.null(),
]);
const ToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
});
const ToolSchema = z.looseObject({
  type: z.literal('function', { message: 'only function tools are supported' }),
  function: z.looseObject({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'a function name is 1-64 letters, digits, _ or -' }),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
  }),
});
const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
]);

/** `POST /v1/chat/completions`. */
export const ChatRequestSchema = z.looseObject({
  ...SamplingFields,
  messages: z
    .array(
      z.looseObject({
        role: z.string(),
        content: ContentSchema.optional(),
        tool_calls: z.array(ToolCallSchema).nullish(),
        tool_call_id: z.string().nullish(),
      }),
    )
    .min(1, { message: 'messages needs at least one message' }),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20, { message: 'top_logprobs must be at most 20' }).nullish(),
  tools: z.array(ToolSchema).nullish(),
  tool_choice: ToolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: z.looseObject({ type: z.string() }).nullish(),
});
export type ChatRequest = z.infer<typeof ChatRequestSchema>;
export type ChatMessageInput = ChatRequest['messages'][number];

/** Validates a body, refusing it with one line naming the first bad field (OpenAI's `param`). */
export function validateOpenAi<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const where = (issue: (typeof issues)[number]) => (issue.path.length > 0 ? issue.path.join('.') : '(body)');
  const first = issues[0]!;
  const more =
    issues.length > 1
      ? `; and ${issues.length - 1} more problem(s): ${issues
          .slice(1, 4)
          .map((issue) => `${where(issue)}: ${issue.message}`)
          .join('; ')}`
      : '';
  throw new OpenAiError(
    400,
    `invalid ${what} request: ${where(first)}: ${first.message}${more}`,
    first.path.length > 0 ? first.path.join('.') : null,
  );
}

/** Refuses parameters the server would otherwise silently ignore. */
export function refuseUnsupported(request: SamplingRequest & Record<string, unknown>): void {
  for (const key of ['frequency_penalty', 'presence_penalty'] as const) {
    if ((request[key] ?? 0) !== 0)
      throw new OpenAiError(
        400,
        `${key} is not supported by this server (sampling is exactly the policy's); send 0 or leave it out`,
        key,
      );
  }
  if ((request.repetition_penalty ?? 1) !== 1)
    throw new OpenAiError(
      400,
      'repetition_penalty is not supported by this server; send 1 or leave it out',
      'repetition_penalty',
    );
  if (request.stream_options != null && request.stream !== true)
    throw new OpenAiError(400, 'stream_options is only allowed with stream: true', 'stream_options');
  if (request.logit_bias && Object.keys(request.logit_bias).length > 0)
    throw new OpenAiError(400, 'logit_bias is not supported by this server', 'logit_bias');
  for (const key of ['functions', 'function_call', 'audio', 'prediction', 'web_search_options']) {
    if (request[key] != null)
      throw new OpenAiError(
        400,
        `${key} is not supported by this server${key.startsWith('function') ? '; use tools and tool_choice' : ''}`,
        key,
      );
  }
  const modalities = request['modalities'];
  if (Array.isArray(modalities) && modalities.some((modality) => modality !== 'text'))
    throw new OpenAiError(400, 'only the text modality is supported', 'modalities');
}
