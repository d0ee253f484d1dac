/**
 * A `Policy` over Tinker's `asample`: one sampling session (its id comes from
 * `save_weights_for_sampler` or `create_sampling_session`), a `seq_id` counter starting at 0 per
 * session, the backpressure header, and client-side stop enforcement. Used by `TinkerBackend` for
 * the weights being trained and on its own by rollout processes that share a remote trainer.
 *
 * No wasted generation: the renderer's end-of-turn token ids go on the wire with the stop strings
 * (in one list where the server takes both, else as token ids, which every server honours while
 * generating; SkyRL only applies stop strings after generating to `max_tokens`, and hosted Tinker
 * drops its implicit end-of-sequence stop once a stop list is given); there a stop string that is
 * a single token goes as that token's id. The client cuts every sample at the first stop anyway.
 *
 * One request per group: requests pending in the same event-loop turn with identical tokens and
 * sampling parameters and consecutive seeds s, s+1, ..., s+k-1 go out as one request with
 * `num_samples = k` and seed s. Servers sample the i-th sequence with seed s + i (SkyRL's engine,
 * `turnwise serve`, vLLM's `n`), so on them a coalesced sample is exactly the sample its own
 * request would have drawn: coalescing never changes results, only the number of requests.
 * `rolloutGroups` gives the first turn of a group's G rollouts such consecutive seeds, so a group's
 * shared prompt is one request. (Hosted Tinker's seed convention for `num_samples` is unverified.)
 */
import type { Policy, SampleRequest, SampleResult, SamplingParams } from '../../rollout/policy.js';
import type { Tokenizer } from '../../rollout/tokenizer.js';
import { ConfigError, RemoteError } from '../../errors.js';
import { applyStops } from '../stop-conditions.js';
import type { ClientStats } from './client-stats.js';
import { resolveFuture, type ResolveOptions } from './future-resolver.js';
import { TinkerTransport, type RetryPolicy } from './transport.js';
import { modelInput, type SampleResponse, type UntypedFuture, type WireSampleRequest } from './wire-schema.js';

/** A sampling session: its id, and the next `seq_id` of its requests. */
export interface SamplingSession {
  id: string;
  nextSeqId: number;
}

/** How the server takes stops and groups (see `TinkerCapabilities`). */
export interface SamplingWire {
  /** Stop strings and token ids in one list. */
  mixedStops: boolean;
  /** Most sequences per request; 1 turns coalescing off. */
  maxNumSamples: number;
}

/** Options of a sampling client. */
export interface TinkerSamplingOptions {
  transport: TinkerTransport;
  tokenizer: Tokenizer;
  /** The sampling session to use now (may change between calls, e.g. after an optimiser step). */
  session: () => Promise<SamplingSession>;
  /** Default: one kind of stop per request, up to 64 sequences per request. */
  wire?: Partial<SamplingWire>;
  /** How futures are awaited (`what` and `resubmit` are set per request). */
  futures?: Omit<ResolveOptions, 'what' | 'resubmit'>;
  /** Counters (default: the transport's). */
  stats?: ClientStats;
}

/**
 * The `stop` list of a request. Where the server takes a mixed list: every stop string and every
 * stop token id. Elsewhere: the token ids (the renderer's end-of-turn ids, and the stop strings that
 * are one token, which then stop generation too), or the strings when there are no ids.
 */
export function wireStop(
  params: Pick<SamplingParams, 'stop' | 'stopTokenIds'>,
  tokenizer: Tokenizer,
  mixedStops: boolean,
): string[] | number[] | (string | number)[] | undefined {
  const strings = params.stop.filter((stop) => stop.length > 0);
  const ids = new Set(params.stopTokenIds ?? []);
  if (mixedStops) return strings.length + ids.size > 0 ? [...strings, ...ids] : undefined;
  for (const stop of strings) {
    const encoded = tokenizer.encode(stop);
    if (encoded.length === 1 && tokenizer.decode(encoded) === stop) ids.add(encoded[0]!);
  }
  if (ids.size > 0) return [...ids];
  return strings.length > 0 ? strings : undefined;
}

/** Builds the wire body of one sampling request (only the fields the SDK sends). */
export function wireSampleRequest(
  request: SampleRequest,
  session: SamplingSession,
  seqId: number,
  options: { tokenizer: Tokenizer; mixedStops: boolean; numSamples?: number },
): WireSampleRequest {
  const { params } = request;
  const stop = wireStop(params, options.tokenizer, options.mixedStops);
  return {
    num_samples: options.numSamples ?? 1,
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
  wire?: Partial<SamplingWire>;
  futures?: Omit<ResolveOptions, 'what' | 'resubmit' | 'failedFutureAs400'>;
}

interface Pending {
  request: SampleRequest;
  resolve: (result: SampleResult) => void;
  reject: (error: unknown) => void;
}

/** Samples through a Tinker server's `asample`. */
export class TinkerSamplingPolicy implements Policy {
  readonly tokenizer: Tokenizer;
  readonly coalescesConsecutiveSeeds: boolean;
  readonly stats: ClientStats;
  private readonly wire: SamplingWire;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Requests of this event-loop turn, by tokens and parameters. */
  private pending = new Map<string, Pending[]>();

  constructor(private readonly options: TinkerSamplingOptions) {
    this.tokenizer = options.tokenizer;
    this.coalescesConsecutiveSeeds = (options.wire?.maxNumSamples ?? 64) > 1;
    this.stats = options.stats ?? options.transport.stats;
    this.wire = { mixedStops: false, maxNumSamples: 64, ...options.wire };
  }

  /** Opens a session and a sampling session of its own, kept alive by a heartbeat until `close`. */
  static async connect(options: TinkerSamplerConnectOptions): Promise<TinkerSamplingPolicy> {
    if ((options.baseModel === undefined) === (options.modelPath === undefined))
      throw new ConfigError('give exactly one of baseModel and modelPath');
    const transport = new TinkerTransport({ baseUrl: options.baseUrl, apiKey: options.apiKey, retry: options.retry });
    const { session_id } = await transport.postOk<{ session_id: string }>('/api/v1/create_session', {
      tags: [],
      user_metadata: null,
      sdk_version: 'turnwise-0.1.0',
      type: 'create_session',
    });
    const created = await transport.postOk<{ sampling_session_id: string }>('/api/v1/create_sampling_session', {
      session_id,
      sampling_session_seq_id: 0,
      ...(options.baseModel !== undefined ? { base_model: options.baseModel } : { model_path: options.modelPath }),
      type: 'create_sampling_session',
    });
    const session: SamplingSession = { id: created.sampling_session_id, nextSeqId: 0 };
    const policy = new TinkerSamplingPolicy({
      transport,
      tokenizer: options.tokenizer,
      session: async () => session,
      wire: options.wire,
      futures: { ...options.futures, failedFutureAs400: options.failedFutureAs400 },
    });
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

  sample(request: SampleRequest): Promise<SampleResult> {
    if (this.wire.maxNumSamples <= 1) return this.sampleRun([request]).then((results) => results[0]!);
    return new Promise((resolve, reject) => {
      const key = JSON.stringify([request.tokens, request.params]);
      const bucket = this.pending.get(key);
      if (bucket) bucket.push({ request, resolve, reject });
      else {
        if (this.pending.size === 0) setImmediate(() => this.flush());
        this.pending.set(key, [{ request, resolve, reject }]);
      }
    });
  }

  /** Sends what arrived in this event-loop turn: each run of consecutive seeds as one request. */
  private flush(): void {
    const buckets = [...this.pending.values()];
    this.pending = new Map();
    for (const bucket of buckets) {
      bucket.sort((a, b) => a.request.seed - b.request.seed);
      let run: Pending[] = [];
      const send = (): void => {
        const members = run;
        run = [];
        this.sampleRun(members.map((member) => member.request)).then(
          (results) => {
            for (const [index, member] of members.entries()) member.resolve(results[index]!);
          },
          (error: unknown) => {
            for (const member of members) member.reject(error);
          },
        );
      };
      for (const member of bucket) {
        const first = run[0]?.request.seed;
        if (run.length > 0 && (member.request.seed !== first! + run.length || run.length >= this.wire.maxNumSamples))
          send();
        run.push(member);
      }
      if (run.length > 0) send();
    }
  }

  /** One `asample` for requests that differ only in their seeds s, s+1, ...; results in that order. */
  private async sampleRun(requests: SampleRequest[]): Promise<SampleResult[]> {
    const first = requests[0]!;
    const session = await this.options.session();
    const seqId = session.nextSeqId++;
    const body = wireSampleRequest(first, session, seqId, {
      tokenizer: this.tokenizer,
      mixedStops: this.wire.mixedStops,
      numSamples: requests.length,
    });
    const transport = this.options.transport;
    const idempotencyKey = transport.newIdempotencyKey();
    const submit = async (): Promise<string> => {
      this.stats.sampleRequests++;
      const future = await transport.postOk<UntypedFuture>('/api/v1/asample', body, {
        idempotencyKey,
        headers: { 'x-tinker-sampling-backpressure': '1' },
      });
      return future.request_id;
    };
    const what = `asample seq_id ${seqId}`;
    const response = await resolveFuture<SampleResponse>(
      transport,
      await submit(),
      { ...this.options.futures, resubmit: submit, what },
      this.stats,
    );
    const sequences = response?.sequences;
    if (!Array.isArray(sequences) || sequences.length !== requests.length) {
      throw new RemoteError(
        `${what} returned ${Array.isArray(sequences) ? sequences.length : 'no'} ` +
          `sequences, expected ${requests.length} (num_samples)`,
      );
    }
    return sequences.map((sequence, index) => {
      if (
        !Array.isArray(sequence.tokens) ||
        !sequence.logprobs ||
        sequence.logprobs.length !== sequence.tokens.length
      ) {
        throw new RemoteError(
          `${what} returned ${sequence.logprobs?.length ?? 0} logprobs ` +
            `for ${sequence.tokens?.length ?? 0} tokens in sequence ${index}`,
        );
      }
      const raw: SampleResult = {
        tokens: sequence.tokens,
        logprobs: sequence.logprobs,
        finishReason: sequence.stop_reason === 'stop' ? 'stop' : 'length',
      };
      const kept = applyStops(raw, requests[index]!.params, this.tokenizer);
      this.stats.samples++;
      this.stats.tokensGenerated += raw.tokens.length;
      this.stats.tokensKept += kept.tokens.length;
      return kept;
    });
  }
}
