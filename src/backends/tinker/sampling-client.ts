/**
 * A `Policy` over Tinker's `asample`: one sampling session (its id comes from
 * `save_weights_for_sampler` or `create_sampling_session`), a `seq_id` counter starting at 0 per
 * session, the backpressure header, and client-side stop enforcement. Used by `TinkerBackend` for
 * the weights being trained and on its own by rollout processes that share a remote trainer.
 */
import type { Policy, SampleRequest, SampleResult } from '../../rollout/policy.js';
import type { Tokenizer } from '../../rollout/tokenizer.js';
import { RemoteError } from '../../errors.js';
import { applyStops } from '../stop-conditions.js';
import { resolveFuture, type ResolverStats } from './future-resolver.js';
import type { TinkerTransport } from './transport.js';
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

/** Samples through a Tinker server's `asample`. */
export class TinkerSamplingPolicy implements Policy {
  readonly tokenizer: Tokenizer;

  constructor(private readonly options: TinkerSamplingOptions) {
    this.tokenizer = options.tokenizer;
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
