/**
 * `VllmPolicy`: a Policy over vLLM's OpenAI-compatible `/v1/completions`, for users who bring their
 * own inference server. Prompts go as token ids (no re-tokenisation drift), and the sampled token
 * ids and their logprobs come back through `return_token_ids` / `return_tokens_as_token_ids` and
 * `logprobs: 0`. Stops are enforced client-side as well (see stop-conditions.ts).
 *
 * Logprob caveat: vLLM reports `raw_logprobs` by default, computed before temperature and top-k /
 * top-p. Importance ratios need the logprobs of the distribution actually sampled, so either start
 * vLLM with `--logprobs-mode processed_logprobs` or sample at temperature 1 without truncation.
 */
import type { Policy, SampleRequest, SampleResult } from '../rollout/policy.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import { RemoteError } from '../errors.js';
import { applyStops } from './stop-conditions.js';
import { TinkerTransport, type RetryPolicy } from './tinker/transport.js';

/** Options of a vLLM sampler. */
export interface VllmSamplerOptions {
  /** Server root, with or without the trailing `/v1` (e.g. `http://127.0.0.1:8000`). */
  baseUrl: string;
  /** The served model name (or a LoRA adapter name loaded into the server). */
  model: string;
  /** Sent as `Authorization: Bearer` (vLLM `--api-key`). */
  apiKey?: string;
  /** The model's tokenizer (for stop strings and `Policy.tokenizer`). */
  tokenizer: Tokenizer;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  /** Extra request fields passed through verbatim (e.g. `{ "min_p": 0.05 }`). */
  extraBody?: Record<string, unknown>;
}

interface CompletionChoice {
  token_ids?: number[];
  finish_reason?: string | null;
  logprobs?: { tokens?: string[]; token_logprobs?: (number | null)[] } | null;
}

/** Samples through a vLLM (or any vLLM-compatible) completions endpoint. */
export class VllmPolicy implements Policy {
  readonly tokenizer: Tokenizer;
  private readonly transport: TinkerTransport;

  constructor(private readonly options: VllmSamplerOptions) {
    this.tokenizer = options.tokenizer;
    const root = options.baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
    this.transport = new TinkerTransport({ baseUrl: root, retry: options.retry, timeoutMs: options.timeoutMs });
  }

  /** The request body of one sample. */
  requestBody(request: SampleRequest): Record<string, unknown> {
    const { params } = request;
    return {
      model: this.options.model,
      prompt: request.tokens,
      max_tokens: params.maxTokens,
      temperature: params.temperature,
      top_p: params.topP,
      top_k: params.topK > 0 ? params.topK : -1,
      seed: request.seed,
      n: 1,
      ...(params.stop.length > 0 ? { stop: params.stop } : {}),
      ...(params.stopTokenIds && params.stopTokenIds.length > 0 ? { stop_token_ids: params.stopTokenIds } : {}),
      include_stop_str_in_output: true,
      skip_special_tokens: false,
      logprobs: 0,
      return_token_ids: true,
      return_tokens_as_token_ids: true,
      ...this.options.extraBody,
    };
  }

  async sample(request: SampleRequest): Promise<SampleResult> {
    const headers: Record<string, string> = this.options.apiKey
      ? { authorization: `Bearer ${this.options.apiKey}` }
      : {};
    const response = await this.transport.postOk<{ choices?: CompletionChoice[] }>(
      '/v1/completions',
      this.requestBody(request),
      { headers },
    );
    const choice = response.choices?.[0];
    if (!choice) throw new RemoteError(`vLLM at ${this.transport.baseUrl} returned no choices`);
    const tokens = choice.token_ids ?? choice.logprobs?.tokens?.map(parseTokenId);
    if (!tokens)
      throw new RemoteError(
        'vLLM returned neither token_ids nor token-id logprob tokens; ' +
          'is return_tokens_as_token_ids supported by this server version?',
      );
    const logprobs = choice.logprobs?.token_logprobs;
    if (!logprobs || logprobs.length !== tokens.length || logprobs.some((value) => typeof value !== 'number')) {
      throw new RemoteError(`vLLM returned ${logprobs?.length ?? 0} logprobs for ${tokens.length} tokens`);
    }
    if (choice.finish_reason !== 'stop' && choice.finish_reason !== 'length') {
      throw new RemoteError(`vLLM finished with ${JSON.stringify(choice.finish_reason)}, expected "stop" or "length"`);
    }
    return applyStops(
      { tokens, logprobs: logprobs as number[], finishReason: choice.finish_reason },
      request.params,
      this.tokenizer,
    );
  }
}

function parseTokenId(piece: string): number {
  const match = /^token_id:(\d+)$/.exec(piece);
  if (!match) throw new RemoteError(`vLLM logprob token ${JSON.stringify(piece)} is not of the form token_id:<id>`);
  return Number(match[1]);
}
