/**
 * `POST /v1/completions`: text or token-id prompts (one or a list), each sampled n times, answered
 * whole or streamed as server-sent event chunks (`stream: true`, usage last with
 * `stream_options.include_usage`). Text leaves out special tokens unless `skip_special_tokens` is
 * false and is cut at the first stop string unless `include_stop_str_in_output`; `logprobs: N`
 * gives the legacy arrays with N real alternatives per token.
 */
import type { SampleResult } from '../../rollout/policy.js';
import type { BackendHost } from './backend-host.js';
import type { ResponseIds } from './chat-completions.js';
import { CompletionText } from './completion-text.js';
import { CompletionRequestSchema, OpenAiError, refuseUnsupported, validateOpenAi } from './openai-schema.js';
import { checkModel, sampleChoice, samplingParams } from './openai-sampling.js';
import type { RouteAnswer, RouteContext } from './tinker-routes.js';
import { TokenNames, finite } from './token-logprobs.js';

/** The legacy logprobs of some tokens. */
interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

/** The completions handler. */
export function textCompletions(host: BackendHost, ids: ResponseIds): (context: RouteContext) => Promise<RouteAnswer> {
  const { tokenizer } = host.backend;
  return async ({ body }) => {
    const request = validateOpenAi(CompletionRequestSchema, body, 'completions');
    checkModel(request.model, host.modelName);
    refuseUnsupported(request);
    if (request.echo) throw new OpenAiError(400, 'echo: true is not supported by this server', 'echo');
    if (request.suffix) throw new OpenAiError(400, 'suffix is not supported by this server', 'suffix');
    const count = request.n ?? 1;
    if (request.best_of != null && request.best_of !== count)
      throw new OpenAiError(400, `best_of ${request.best_of} is not supported; leave it out or equal to n`, 'best_of');
    const prompt = request.prompt;
    const prompts: number[][] =
      typeof prompt === 'string'
        ? [tokenizer.encode(prompt)]
        : prompt.length > 0 && typeof prompt[0] === 'number'
          ? [prompt as number[]]
          : (prompt as (string | number[])[]).map((item) => (typeof item === 'string' ? tokenizer.encode(item) : item));
    if (prompts.length === 0)
      throw new OpenAiError(
        400,
        'prompt is an empty list; send a string, a list of token ids or a list of prompts',
        'prompt',
      );
    for (const tokens of prompts) host.checkTokens(tokens, 'prompt');
    const params = samplingParams(request, request.max_tokens ?? 16, []);
    const wantLogprobs = request.logprobs != null;
    const topCount = request.logprobs ?? 0;
    const names = new TokenNames(tokenizer, request.return_tokens_as_token_ids ?? false);
    const keepSpecial = request.skip_special_tokens === false;
    const id = ids.next('cmpl');
    const seed = request.seed ?? host.drawSeed();
    const jobs = prompts.flatMap((tokens, promptIndex) =>
      Array.from({ length: count }, (_, sample) => ({
        tokens,
        index: promptIndex * count + sample,
        seed: (seed + sample) >>> 0,
      })),
    );

    /**
     * Samples every choice; `emit(index, text, logprobs, token)`
     * per token and `finish(index, text, result)` at the end.
     */
    const sampleAll = (
      emit: (index: number, text: string, logprobs: LegacyLogprobs | undefined, token: number) => void,
      finish: (index: number, text: string, result: SampleResult) => void,
    ) =>
      Promise.all(
        jobs.map(async (job) => {
          const text = new CompletionText({
            tokenizer,
            stop: params.stop,
            keepStop: request.include_stop_str_in_output ?? false,
            isHidden: (token) => !keepSpecial && (tokenizer.isSpecialToken?.(token) ?? false),
          });
          let offset = 0;
          const result = await sampleChoice(
            host,
            { prompt: job.tokens, params, seed: job.seed, topLogprobs: topCount, topLogprobsParam: 'logprobs' },
            (token) => {
              const piece = names.piece(token.token);
              const logprobs = wantLogprobs
                ? {
                    tokens: [piece],
                    token_logprobs: [finite(token.logprob)],
                    top_logprobs: [names.legacyTop(token.token, token.logprob, token.topLogprobs, topCount)],
                    text_offset: [offset],
                  }
                : undefined;
              offset += piece.length;
              emit(job.index, text.push(token.token), logprobs, token.token);
            },
          );
          finish(job.index, text.finish(), result);
          return { job, result, text: text.released };
        }),
      );
    const usage = (done: { job: { tokens: number[] }; result: SampleResult }[]) => {
      const promptTokens = prompts.reduce((sum, tokens) => sum + tokens.length * count, 0);
      const completion = done.reduce((sum, item) => sum + item.result.tokens.length, 0);
      return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
    };
    const head = () => ({
      id,
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: host.modelName,
    });

    if (request.stream) {
      const includeUsage = request.stream_options?.include_usage === true;
      const extra = includeUsage ? { usage: null } : {};
      return {
        stream: async (sse) => {
          const done = await sampleAll(
            (index, text, logprobs, token) => {
              if (text || logprobs)
                sse.send({
                  ...head(),
                  choices: [
                    {
                      index,
                      text,
                      logprobs: logprobs ?? null,
                      finish_reason: null,
                      ...(request.return_token_ids ? { token_ids: [token] } : {}),
                    },
                  ],
                  ...extra,
                });
            },
            (index, text, result) =>
              sse.send({
                ...head(),
                choices: [{ index, text, logprobs: null, finish_reason: result.finishReason, stop_reason: null }],
                ...extra,
              }),
          );
          if (includeUsage) sse.send({ ...head(), choices: [], usage: usage(done) });
          sse.done();
        },
      };
    }
    const logs = new Map<number, LegacyLogprobs>();
    const done = await sampleAll(
      (index, _text, logprobs) => {
        if (!logprobs) return;
        const all = logs.get(index) ?? { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
        all.tokens.push(...logprobs.tokens);
        all.token_logprobs.push(...logprobs.token_logprobs);
        all.top_logprobs.push(...logprobs.top_logprobs);
        all.text_offset.push(...logprobs.text_offset);
        logs.set(index, all);
      },
      () => undefined,
    );
    const choices = done
      .sort((a, b) => a.job.index - b.job.index)
      .map(({ job, result, text }) => ({
        index: job.index,
        text,
        finish_reason: result.finishReason,
        stop_reason: null,
        logprobs: wantLogprobs
          ? (logs.get(job.index) ?? { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] })
          : null,
        token_ids: result.tokens,
        prompt_token_ids: job.tokens,
      }));
    return { status: 200, body: { ...head(), choices, usage: usage(done) } };
  };
}
