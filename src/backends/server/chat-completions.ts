/**
 * `POST /v1/chat/completions`: a chat request rendered by the backend's chat template (tools and
 * tool messages included, see chat-prompt.ts), sampled n times, answered whole or as server-sent
 * event chunks as the tokens arrive (`stream: true`, usage last with
 * `stream_options.include_usage`). Each choice is a `ChatChoice`, so both answers carry the same
 * message: content without special tokens, tool calls parsed from `<tool_call>` blocks
 * (`finish_reason: "tool_calls"`), logprobs with raw bytes and real alternatives, and the vLLM
 * extensions an RL client reads (`token_ids`, `prompt_token_ids`).
 */
import type { SampleResult } from '../../rollout/policy.js';
import type { BackendHost } from './backend-host.js';
import { buildChatPrompt } from './chat-prompt.js';
import { ChatChoice, type ChunkChoice } from './chat-choice.js';
import type { GatewayHooks } from './gateway-hooks.js';
import { ChatRequestSchema, OpenAiError, refuseUnsupported, validateOpenAi } from './openai-schema.js';
import { checkModel, sampleChoice, samplingParams, stopList } from './openai-sampling.js';
import type { RouteAnswer, RouteContext } from './tinker-routes.js';
import { TokenNames } from './token-logprobs.js';

/** Ids of one server's responses and tool calls. */
export interface ResponseIds {
  next(prefix: string): string;
}

/** The chat completions handler. */
export function chatCompletions(
  host: BackendHost,
  ids: ResponseIds,
  gateway?: GatewayHooks,
): (context: RouteContext) => Promise<RouteAnswer> {
  const { tokenizer, renderer } = host.backend;
  return async ({ body, rollout }) => {
    const request = validateOpenAi(ChatRequestSchema, body, 'chat/completions');
    checkModel(request.model, host.modelName);
    refuseUnsupported(request);
    const format = request.response_format?.type;
    if (format !== undefined && format !== 'text') {
      throw new OpenAiError(
        400,
        `response_format ${JSON.stringify(format)} is not supported: this server ` +
          `samples the policy unconstrained; ask for JSON in the prompt and parse it`,
        'response_format',
      );
    }
    const topCount = request.top_logprobs ?? 0;
    if (topCount > 0 && !request.logprobs)
      throw new OpenAiError(400, 'top_logprobs needs logprobs: true', 'top_logprobs');
    const prompt = buildChatPrompt(request, renderer, tokenizer);
    const requested = request.max_completion_tokens ?? request.max_tokens ?? 256;
    const cap = gateway?.maxTokens?.(rollout);
    if (cap !== undefined && cap <= 0) {
      throw new OpenAiError(400, `rollout ${JSON.stringify(rollout)} has spent its token budget`, 'max_tokens');
    }
    const params = {
      ...samplingParams(request, cap === undefined ? requested : Math.min(requested, cap), renderer.stopTokenIds),
      ...gateway?.sampling?.(rollout),
    };
    const keepSpecial = request.skip_special_tokens === false;
    const special = new Set(renderer.stopTokenIds);
    const id = ids.next('chatcmpl');
    const names = new TokenNames(tokenizer, request.return_tokens_as_token_ids ?? false);
    const choices = Array.from(
      { length: request.n ?? 1 },
      (_, index) =>
        new ChatChoice(index, {
          tokenizer,
          stop: stopList(request.stop),
          keepStop: request.include_stop_str_in_output ?? false,
          isHidden: (token) => !keepSpecial && (tokenizer.isSpecialToken?.(token) ?? special.has(token)),
          names,
          prefill: prompt.prefill,
          parseTools: prompt.parseTools,
          maxCalls: prompt.maxCalls,
          logprobs: request.logprobs ?? false,
          topLogprobs: topCount,
          callId: (k) => `call_${id.slice('chatcmpl-'.length)}_${index}_${k}`,
        }),
    );
    const seed = gateway?.seed?.(rollout) ?? request.seed ?? host.drawSeed();
    const head = () => ({
      id,
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: host.modelName,
      system_fingerprint: null,
    });
    const sampleAll = (emit: (chunks: ChunkChoice[]) => void): Promise<SampleResult[]> =>
      Promise.all(
        choices.map(async (choice) => {
          const job = {
            prompt: prompt.tokens,
            params,
            seed: (seed + choice.index) >>> 0,
            topLogprobs: topCount,
            topLogprobsParam: 'top_logprobs',
          };
          const result = await sampleChoice(host, job, (token) =>
            emit(choice.token(token, request.stream === true && request.return_token_ids === true)),
          );
          emit(choice.finish(result));
          return result;
        }),
      );
    const report = (results: SampleResult[]) =>
      gateway?.onCompletion?.({
        rollout,
        messages: prompt.messages,
        promptTokens: prompt.tokens,
        choices: choices.map((choice, index) => {
          const message = choice.message();
          return {
            tokens: results[index]!.tokens,
            logprobs: results[index]!.logprobs,
            finishReason: choice.finishReason ?? results[index]!.finishReason,
            message: {
              role: 'assistant' as const,
              content: message.content ?? '',
              ...(message.tool_calls && {
                toolCalls: message.tool_calls.map((call) => ({
                  id: call.id,
                  name: call.function.name,
                  arguments: JSON.parse(call.function.arguments) as Record<string, unknown>,
                })),
              }),
            },
          };
        }),
      });
    const usage = (results: SampleResult[]) => {
      const completion = results.reduce((sum, result) => sum + result.tokens.length, 0);
      return {
        prompt_tokens: prompt.tokens.length,
        completion_tokens: completion,
        total_tokens: prompt.tokens.length + completion,
      };
    };

    if (request.stream) {
      const includeUsage = request.stream_options?.include_usage === true;
      return {
        stream: async (sse) => {
          const results = await sampleAll((chunks) => {
            for (const chunk of chunks)
              sse.send({ ...head(), choices: [chunk], ...(includeUsage ? { usage: null } : {}) });
          });
          report(results);
          if (includeUsage) sse.send({ ...head(), choices: [], usage: usage(results) });
          sse.done();
        },
      };
    }
    const results = await sampleAll(() => undefined);
    report(results);
    return {
      status: 200,
      body: {
        id,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: host.modelName,
        system_fingerprint: null,
        choices: choices.map((choice, index) => ({
          index,
          message: choice.message(),
          finish_reason: choice.finishReason,
          stop_reason: null,
          logprobs: request.logprobs ? { content: choice.logprobEntries, refusal: null } : null,
          token_ids: results[index]!.tokens,
        })),
        prompt_token_ids: prompt.tokens,
        usage: usage(results),
      },
    };
  };
}
