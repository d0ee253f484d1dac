/**
 * A `Policy` over Tinker's `asample`: one sampling session (its id comes from
 * `save_weights_for_sampler` or `create_sampling_session`), a `seq_id` counter starting at 0 per
 * session, the backpressure header, and client-side stop enforcement. Used by `TinkerBackend` for
 * the weights being trained and on its own by rollout processes that share a remote trainer.
 */
import type { Policy, SampleRequest, SampleResult } from '../../rollout/policy.js';
import type { Tokenizer } from '../../rollout/tokenizer.js';
import { ConfigError, RemoteError } from '../../errors.js';
import { applyStops } from '../stop-conditions.js';
import { resolveFuture, type ResolverStats } from './future-resolver.js';
import { TinkerTransport, type RetryPolicy } from './transport.js';
import { modelInput, type SampleResponse, type UntypedFuture, type WireSampleRequest } from './wire-schema.js';

/** A sampling session: its id, and the next `seq_id` of its requests. */
export interface SamplingSession {
  id: string;
  nextSeqId: number;
}

/** Options of a sampling client. */
export interface TinkerSamplingOptions {
  transport: TinkerTransport;
  tokenizer: Tokenizer;
  /** The sampling session to use now (may change between calls, e.g. after an optimiser step). */
  session: () => Promise<SamplingSession>;
  failedFutureAs400?: boolean;
  futureBackoffMs?: number;
  stats?: ResolverStats;
}

/** Builds the wire body of one sampling request. */
export function wireSampleRequest(request: SampleRequest, session: SamplingSession, seqId: number): WireSampleRequest {
  const { params } = request;
  let stop: string[] | number[] | undefined;
  if (params.stop.length > 0) stop = params.stop;
  else if (params.stopTokenIds && params.stopTokenIds.length > 0) stop = params.stopTokenIds;
  return {
    num_samples: 1,
    prompt: modelInput(request.tokens),
    sampling_params: {
      max_tokens: params.maxTokens,
      seed: request.seed,
      temperature: params.temperature,
      top_k: params.topK > 0 ? params.topK : -1,
      top_p: params.topP,
      ...(stop ? { stop } : {}),
    },
    sampling_session_id: session.id,
    seq_id: seqId,
    prompt_logprobs: false,
    topk_prompt_logprobs: 0,
    type: 'sample',
  } as WireSampleRequest;
}

/** Options of `TinkerSamplingPolicy.connect` (a rollout process sampling a shared trainer). */
export interface TinkerSamplerConnectOptions {
  baseUrl: string;
  apiKey?: string;
  tokenizer: Tokenizer;
  /** Sample this base model (on `turnwise serve`: the live weights being trained)... */
  baseModel?: string;
  /** ...or a sampler checkpoint `tinker://<model>/sampler_weights/<name>`. */
  modelPath?: string;
  heartbeatIntervalMs?: number;
  retry?: Partial<RetryPolicy>;
  failedFutureAs400?: boolean;
}

/** Samples through a Tinker server's `asample`. */
export class TinkerSamplingPolicy implements Policy {
  readonly tokenizer: Tokenizer;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: TinkerSamplingOptions) {
    this.tokenizer = options.tokenizer;
  }

  /** Opens a session and a sampling session of its own, kept alive by a heartbeat until `close`. */
  static async connect(options: TinkerSamplerConnectOptions): Promise<TinkerSamplingPolicy> {
    if ((options.baseModel === undefined) === (options.modelPath === undefined)) throw new ConfigError('give exactly one of baseModel and modelPath');
    const transport = new TinkerTransport({ baseUrl: options.baseUrl, apiKey: options.apiKey, retry: options.retry });
    const { session_id } = await transport.postOk<{ session_id: string }>('/api/v1/create_session', { tags: [], user_metadata: null, sdk_version: 'turnwise-0.1.0', type: 'create_session' });
    const created = await transport.postOk<{ sampling_session_id: string }>('/api/v1/create_sampling_session', {
      session_id,
      sampling_session_seq_id: 0,
      ...(options.baseModel !== undefined ? { base_model: options.baseModel } : { model_path: options.modelPath }),
      type: 'create_sampling_session',
    });
    const session: SamplingSession = { id: created.sampling_session_id, nextSeqId: 0 };
    const policy = new TinkerSamplingPolicy({ transport, tokenizer: options.tokenizer, session: async () => session, failedFutureAs400: options.failedFutureAs400 });
    policy.heartbeat = setInterval(() => {
      transport.postOk('/api/v1/session_heartbeat', { session_id, type: 'session_heartbeat' }).catch(() => undefined);
    }, options.heartbeatIntervalMs ?? 10_000);
    policy.heartbeat.unref();
    return policy;
  }

  /** The transport (its `retries` counters show what the network did). */
  get transport(): TinkerTransport {
    return this.options.transport;
  }

  /** Stops the heartbeat of a policy opened with `connect`. */
  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  async sample(request: SampleRequest): Promise<SampleResult> {
    const session = await this.options.session();
    const seqId = session.nextSeqId++;
    const body = wireSampleRequest(request, session, seqId);
    const transport = this.options.transport;
    const idempotencyKey = transport.newIdempotencyKey();
    const submit = async (): Promise<string> => {
      const future = await transport.postOk<UntypedFuture>('/api/v1/asample', body, {
        idempotencyKey,
        headers: { 'x-tinker-sampling-backpressure': '1' },
      });
      return future.request_id;
    };
    const response = await resolveFuture<SampleResponse>(
      transport,
      await submit(),
      {
        resubmit: submit,
        failedFutureAs400: this.options.failedFutureAs400,
        initialBackoffMs: this.options.futureBackoffMs,
        what: `asample seq_id ${seqId}`,
      },
      this.options.stats,
    );
    const sequence = response.sequences?.[0];
    if (!sequence) throw new RemoteError(`asample seq_id ${seqId} returned no sequences`);
    if (!sequence.logprobs || sequence.logprobs.length !== sequence.tokens.length) {
      throw new RemoteError(`asample seq_id ${seqId} returned ${sequence.logprobs?.length ?? 0} logprobs for ${sequence.tokens.length} tokens`);
    }
    const result: SampleResult = { tokens: sequence.tokens, logprobs: sequence.logprobs, finishReason: sequence.stop_reason === 'stop' ? 'stop' : 'length' };
    return applyStops(result, request.params, this.tokenizer);
  }
}
