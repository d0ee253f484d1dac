/**
 * OpenAI-compatible sampling from a Backend's policy: `POST /v1/completions` (text or token-id
 * prompts), `POST /v1/chat/completions` (rendered with the backend's chat renderer) and
 * `GET /v1/models`, with per-token logprobs and the vLLM extensions an RL client needs
 * (`return_token_ids`, `return_tokens_as_token_ids`, `stop_token_ids`, `top_k`,
 * `include_stop_str_in_output`). Top alternatives are not computed: `top_logprobs` holds only the
 * sampled token. Streaming and tool definitions are refused with 400.
 */
import { z } from 'zod';
import type { SampleResult } from '../../rollout/policy.js';
import type { Message, Role } from '../../types.js';
import type { BackendHost } from './backend-host.js';
import { HttpError, validate } from './http-io.js';
import type { RouteAnswer, RouteContext } from './tinker-routes.js';

const tokenIds = z.array(z.number().int().nonnegative());
const stopSchema = z.union([z.string(), z.array(z.string())]).nullish();

const SamplingFields = {
  model: z.string().optional(),
  temperature: z.number().positive({ message: 'temperature must be > 0 (greedy decoding is not supported)' }).nullish(),
  top_p: z.number().gt(0).lte(1).nullish(),
  top_k: z.number().int().nullish(),
  n: z.number().int().positive().max(64).nullish(),
  seed: z.number().int().nullish(),
  stop: stopSchema,
  stop_token_ids: tokenIds.nullish(),
  stream: z.boolean().nullish(),
  include_stop_str_in_output: z.boolean().nullish(),
  return_token_ids: z.boolean().nullish(),
  return_tokens_as_token_ids: z.boolean().nullish(),
};

const CompletionSchema = z.looseObject({
  ...SamplingFields,
  prompt: z.union([z.string(), tokenIds, z.array(z.string()), z.array(tokenIds)]),
  max_tokens: z.number().int().positive().nullish(),
  logprobs: z.number().int().nonnegative().nullish(),
  echo: z.boolean().nullish(),
});

const ContentSchema = z.union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() })), z.null()]);
const ChatSchema = z.looseObject({
  ...SamplingFields,
  messages: z.array(z.looseObject({ role: z.string(), content: ContentSchema.optional() })).min(1, { message: 'messages needs at least one message' }),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().nonnegative().nullish(),
  tools: z.array(z.unknown()).nullish(),
});

type Handler = (context: RouteContext) => Promise<RouteAnswer> | RouteAnswer;

/** Builds the `/v1` route table. */
export function openAiRoutes(host: BackendHost, modelName: string): Map<string, Handler> {
  const tokenizer = host.backend.tokenizer;
  const renderer = host.backend.renderer;
  let counter = 0;
  const created = (): number => Math.floor(Date.now() / 1000);

  function sampleMany(prompt: number[], count: number, fields: z.infer<z.ZodObject<typeof SamplingFields>>, maxTokens: number, extraStopIds: number[]): Promise<SampleResult[]> {
    if (fields.stream) throw new HttpError(400, 'stream: true is not supported by this server; request the whole completion');
    if (prompt.length === 0) throw new HttpError(400, 'the prompt has no tokens');
    host.checkTokens(prompt, 'prompt');
    const baseSeed = fields.seed ?? host.drawSeed();
    const stop = fields.stop == null ? [] : typeof fields.stop === 'string' ? [fields.stop] : fields.stop;
    const params = {
      temperature: fields.temperature ?? 1,
      topK: fields.top_k ?? -1,
      topP: fields.top_p ?? 1,
      maxTokens,
      stop,
      stopTokenIds: [...extraStopIds, ...(fields.stop_token_ids ?? [])],
    };
    const policy = host.backend.policy();
    return Promise.all(Array.from({ length: count }, (_, index) => host.shared(() => policy.sample({ tokens: prompt, params, seed: (baseSeed + index) >>> 0 }))));
  }

  /** The text of a result: the stop token dropped, the stop string dropped unless asked for. */
  function visibleText(result: SampleResult, stop: string[], dropIds: number[], keepStop: boolean): string {
    const tokens = result.finishReason === 'stop' && dropIds.includes(result.tokens[result.tokens.length - 1]!) ? result.tokens.slice(0, -1) : result.tokens;
    let text = tokenizer.decode(tokens);
    if (!keepStop && result.finishReason === 'stop') {
      for (const item of stop) if (text.endsWith(item)) text = text.slice(0, -item.length);
    }
    return text;
  }

  function pieces(tokens: number[], asIds: boolean): string[] {
    return tokens.map((token) => (asIds ? `token_id:${token}` : tokenizer.decode([token])));
  }

  const completions: Handler = async ({ body }) => {
    const request = validate(CompletionSchema, body, 'completions');
    if (request.echo) throw new HttpError(400, 'echo: true is not supported by this server');
    const prompt = request.prompt;
    const prompts: number[][] =
      typeof prompt === 'string' ? [tokenizer.encode(prompt)] : prompt.length > 0 && typeof prompt[0] === 'number' ? [prompt as number[]] : (prompt as (string | number[])[]).map((item) => (typeof item === 'string' ? tokenizer.encode(item) : item));
    if (prompts.length === 0) throw new HttpError(400, 'prompt is an empty list; send a string, a list of token ids or a list of prompts');
    const count = request.n ?? 1;
    const stop = request.stop == null ? [] : typeof request.stop === 'string' ? [request.stop] : request.stop;
    const choices: unknown[] = [];
    let promptTokens = 0;
    let completionTokens = 0;
    for (const [promptIndex, tokens] of prompts.entries()) {
      const results = await sampleMany(tokens, count, request, request.max_tokens ?? 16, []);
      promptTokens += tokens.length;
      results.forEach((result, sampleIndex) => {
        completionTokens += result.tokens.length;
        const text = visibleText(result, stop, [], request.include_stop_str_in_output ?? false);
        const tokenPieces = pieces(result.tokens, request.return_tokens_as_token_ids ?? false);
        let offset = 0;
        choices.push({
          index: promptIndex * count + sampleIndex,
          text,
          finish_reason: result.finishReason,
          stop_reason: null,
          logprobs:
            request.logprobs == null
              ? null
              : {
                  tokens: tokenPieces,
                  token_logprobs: result.logprobs,
                  top_logprobs: tokenPieces.map((piece, t) => ({ [piece]: result.logprobs[t]! })),
                  text_offset: tokenPieces.map((piece) => ((offset += piece.length), offset - piece.length)),
                },
          token_ids: result.tokens,
          prompt_token_ids: tokens,
        });
      });
    }
    return {
      status: 200,
      body: {
        id: `cmpl-${++counter}`,
        object: 'text_completion',
        created: created(),
        model: request.model ?? modelName,
        choices,
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      },
    };
  };

  const chat: Handler = async ({ body }) => {
    const request = validate(ChatSchema, body, 'chat/completions');
    if (request.tools && request.tools.length > 0) {
      throw new HttpError(400, 'tools are not supported by this server: describe the tools in the system prompt and parse the calls from the text');
    }
    const messages: Message[] = request.messages.map((message, index) => ({ role: toRole(message.role, index), content: contentText(message.content, index) }));
    const prompt = renderer.renderPrompt(messages);
    const count = request.n ?? 1;
    const stop = request.stop == null ? [] : typeof request.stop === 'string' ? [request.stop] : request.stop;
    const results = await sampleMany(prompt, count, request, request.max_completion_tokens ?? request.max_tokens ?? 256, renderer.stopTokenIds);
    const asIds = request.return_tokens_as_token_ids ?? false;
    const choices = results.map((result, index) => ({
      index,
      message: { role: 'assistant', content: visibleText(result, stop, renderer.stopTokenIds, request.include_stop_str_in_output ?? false) },
      finish_reason: result.finishReason,
      logprobs: request.logprobs
        ? {
            content: pieces(result.tokens, asIds).map((piece, t) => ({
              token: piece,
              logprob: result.logprobs[t]!,
              bytes: [...Buffer.from(piece, 'utf8')],
              top_logprobs: (request.top_logprobs ?? 0) > 0 ? [{ token: piece, logprob: result.logprobs[t]!, bytes: [...Buffer.from(piece, 'utf8')] }] : [],
            })),
          }
        : null,
      token_ids: result.tokens,
    }));
    const completionTokens = results.reduce((sum, result) => sum + result.tokens.length, 0);
    return {
      status: 200,
      body: {
        id: `chatcmpl-${++counter}`,
        object: 'chat.completion',
        created: created(),
        model: request.model ?? modelName,
        choices,
        prompt_token_ids: prompt,
        usage: { prompt_tokens: prompt.length, completion_tokens: completionTokens, total_tokens: prompt.length + completionTokens },
      },
    };
  };

  return new Map<string, Handler>([
    ['POST /v1/completions', completions],
    ['POST /v1/chat/completions', chat],
    ['GET /v1/models', () => ({ status: 200, body: { object: 'list', data: [{ id: modelName, object: 'model', created: 0, owned_by: 'turnwise' }] } })],
  ]);
}

function toRole(role: string, index: number): Role {
  if (role === 'developer') return 'system';
  if (role === 'system' || role === 'user' || role === 'assistant' || role === 'tool') return role;
  throw new HttpError(400, `messages[${index}].role ${JSON.stringify(role)} is not one of system, developer, user, assistant, tool`);
}

function contentText(content: z.infer<typeof ContentSchema> | undefined, index: number): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part, partIndex) => {
      if (part.type !== 'text' || typeof part.text !== 'string') {
        throw new HttpError(400, `messages[${index}].content[${partIndex}] has type ${JSON.stringify(part.type)}; only text parts are supported`);
      }
      return part.text;
    })
    .join('');
}
