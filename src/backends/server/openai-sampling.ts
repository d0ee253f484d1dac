/**
 * What the OpenAI routes share: the sampling parameters of a request (temperature 0 is greedy:
 * top-k 1 at temperature 1, i.e. the most likely token at every step with its plain logprob, ties
 * to the lower id, whatever the seed), the served-model check, and sampling one choice through the
 * host's scheduler with its tokens handed over in order, as the policy streams them or, for a
 * policy that only returns whole results, all at the end.
 */
import type { GeneratedToken, SampleResult, SamplingParams } from '../../rollout/policy.js';
import type { BackendHost } from './backend-host.js';
import { OpenAiError, type SamplingRequest } from './openai-schema.js';

/** Refuses a model name other than the served one, as OpenAI does (404 `model_not_found`). */
export function checkModel(model: string, served: string): void {
  if (model !== served)
    throw new OpenAiError(
      404,
      `The model ${JSON.stringify(model)} does not exist on this server; it serves ${JSON.stringify(served)}`,
      'model',
      'model_not_found',
    );
}

/** The stop strings of a request as a list. */
export function stopList(stop: SamplingRequest['stop']): string[] {
  return stop == null ? [] : typeof stop === 'string' ? [stop] : stop;
}

/** The sampler's parameters for a request. */
export function samplingParams(request: SamplingRequest, maxTokens: number, stopTokenIds: number[]): SamplingParams {
  const greedy = request.temperature === 0;
  return {
    temperature: greedy ? 1 : (request.temperature ?? 1),
    topK: greedy ? 1 : (request.top_k ?? -1),
    topP: greedy ? 1 : (request.top_p ?? 1),
    maxTokens,
    stop: stopList(request.stop),
    stopTokenIds: [...stopTokenIds, ...(request.stop_token_ids ?? [])],
  };
}

/** One choice to sample. */
export interface ChoiceJob {
  prompt: number[];
  params: SamplingParams;
  seed: number;
  /** Alternatives wanted per token (0: none). */
  topLogprobs: number;
  /** What the request calls the option, for the error when the backend has no alternatives. */
  topLogprobsParam: string;
}

/**
 * Samples one choice; `onToken` gets every token in order. A request for alternatives that the
 * backend's sampler does not compute is refused with 400 at the first token.
 */
export async function sampleChoice(
  host: BackendHost,
  job: ChoiceJob,
  onToken: (token: GeneratedToken) => void,
): Promise<SampleResult> {
  if (job.prompt.length === 0) throw new OpenAiError(400, 'the prompt has no tokens', 'prompt');
  host.checkTokens(job.prompt, 'prompt');
  let seen = 0;
  const take = (token: GeneratedToken): void => {
    if (job.topLogprobs > 0 && token.topLogprobs === undefined) {
      throw new OpenAiError(
        400,
        `${job.topLogprobsParam} is not available: ` +
          `the ${host.backend.name} backend's sampler does not report alternative tokens`,
        job.topLogprobsParam,
      );
    }
    seen++;
    onToken(token);
  };
  const policy = host.backend.policy();
  const request = {
    tokens: job.prompt,
    params: job.params,
    seed: job.seed,
    ...(job.topLogprobs > 0 ? { topLogprobs: job.topLogprobs } : {}),
  };
  const result = await host.shared(() => policy.sample(request, take));
  for (let t = seen; t < result.tokens.length; t++) {
    const top = result.topLogprobs?.[t];
    take(
      top
        ? { token: result.tokens[t]!, logprob: result.logprobs[t]!, topLogprobs: top }
        : { token: result.tokens[t]!, logprob: result.logprobs[t]! },
    );
  }
  return result;
}
