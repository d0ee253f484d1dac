/**
 * Emulation profiles of `turnwise serve` (`--emulate turnwise|skyrl|hosted`): the protocol
 * differences of the services the Tinker client meets, reproduced on loopback so the client's tests
 * run against each of them and a client regression fails CI. Read from the services' own sources
 * (NovaSky-AI/SkyRL `skyrl/tinker/api.py`, `skyrl/tx/utils/generator.py`; the Python SDK and the
 * Tinker docs for hosted):
 *
 * - skyrl: `client/config` answers only `pjwt_auth_enabled`; `retrieve_future` holds a poll up to
 *   300 s, then answers 408; `create_model` answers the model id at once with a future that creates
 *   the model; failed futures are HTTP 400 `{detail}`; the JAX sampler has no end-of-sequence stop of
 *   its own: it generates to `max_tokens` unless stop token ids are given, and applies stop strings
 *   after generating; `stop` must be a list of one kind; invalid loss configs are 422; the gradient
 *   clip of `optim_step` is ignored.
 * - hosted: `client/config` carries the chunk limits; polls answer `try_again`; failures are 200
 *   `{error, category}`; `stop` is strings or token ids (not both) honoured while generating, with the
 *   implicit end-of-sequence stop only when no stop list is given; sampling is rate limited (429 with
 *   `retry-after`). JSON only: the SDK 0.25 protobuf bodies are not emulated here.
 * - turnwise: this server's own protocol (the turnwise extension, mixed stop lists).
 */
import { ConfigError } from '../../errors.js';

/** The profiles. */
export const EMULATION_PROFILES = ['turnwise', 'skyrl', 'hosted'] as const;
export type EmulationProfile = (typeof EMULATION_PROFILES)[number];

/** A sampling rate limit: a token bucket of `burst` requests refilled at `requestsPerSecond`. */
export interface RateLimit {
  requestsPerSecond: number;
  burst: number;
}

/** How a profile answers. */
export interface Emulation {
  profile: EmulationProfile;
  /** Default hold of a `retrieve_future` long poll. */
  longPollMs: number;
  /** Answer to a poll of a still-running future after the hold: 408 (SkyRL) or 200 `try_again`. */
  stillRunningStatus: 200 | 408;
  /** Failed futures as HTTP 400 `{detail}` (SkyRL) instead of 200 `{error, category}`. */
  failedFutureAs400: boolean;
  /** `create_model` answers the model id at once and creates the model through its future. */
  immediateModelId: boolean;
  /** Accepts the turnwise extension of forward(_backward). */
  turnwiseExtension: boolean;
  /**
   * How `asample` applies stops: `turnwise` strings and token ids while generating (one mixed list
   * allowed); `hosted` one kind while generating, end-of-sequence only without a stop list; `skyrl`
   * one kind of list, token ids while generating, strings after generating to `max_tokens`.
   */
  sampler: EmulationProfile;
  /** Status of an unknown `loss_fn` or `loss_fn_config` key (FastAPI validation answers 422). */
  lossErrorStatus: 400 | 422;
  /** Applies `grad_clip_norm` (SkyRL's AdamParams has none). */
  honorsGradClip: boolean;
  /** Default sampling rate limit, if any. */
  rateLimit?: RateLimit;
  /** The `client/config` answer, given the server's chunk limits. */
  clientConfig(limits: {
    maxChunkDatums: number;
    maxChunkBytes: number;
    maxConcurrentPerKey: number;
  }): Record<string, unknown>;
}

const PROFILES: Record<EmulationProfile, Emulation> = {
  turnwise: {
    profile: 'turnwise',
    longPollMs: 20_000,
    stillRunningStatus: 200,
    failedFutureAs400: false,
    immediateModelId: false,
    turnwiseExtension: true,
    sampler: 'turnwise',
    lossErrorStatus: 400,
    honorsGradClip: true,
    clientConfig: (limits) => ({
      pjwt_auth_enabled: false,
      turnwise_extensions: true,
      fwdbwd_max_chunk_len: limits.maxChunkDatums,
      fwdbwd_max_chunk_bytes_count: limits.maxChunkBytes,
      // The SDK keeps its sampling requests in flight under this, the server's limit of work per key.
      sample_max_concurrent_requests: limits.maxConcurrentPerKey,
    }),
  },
  skyrl: {
    profile: 'skyrl',
    longPollMs: 300_000,
    stillRunningStatus: 408,
    failedFutureAs400: true,
    immediateModelId: true,
    turnwiseExtension: false,
    sampler: 'skyrl',
    lossErrorStatus: 422,
    honorsGradClip: false,
    clientConfig: () => ({ pjwt_auth_enabled: false }),
  },
  hosted: {
    profile: 'hosted',
    longPollMs: 30_000,
    stillRunningStatus: 200,
    failedFutureAs400: false,
    immediateModelId: false,
    turnwiseExtension: false,
    sampler: 'hosted',
    lossErrorStatus: 400,
    honorsGradClip: true,
    rateLimit: { requestsPerSecond: 64, burst: 64 },
    clientConfig: (limits) => ({
      pjwt_auth_enabled: false,
      fwdbwd_max_chunk_len: limits.maxChunkDatums,
      fwdbwd_max_chunk_bytes_count: limits.maxChunkBytes,
      parallel_fwdbwd_chunks: false,
      // The SDK keeps its sampling requests in flight under this, the server's limit of work per key.
      sample_max_concurrent_requests: limits.maxConcurrentPerKey,
      proto_compress_fwdbwd: false,
    }),
  },
};

/** The profile named `name`; a ConfigError naming the known ones otherwise. */
export function emulationProfile(name: string): Emulation {
  if (!(EMULATION_PROFILES as readonly string[]).includes(name)) {
    throw new ConfigError(
      `--emulate ${JSON.stringify(name)} is not a profile; expected one of ${EMULATION_PROFILES.join(', ')}`,
    );
  }
  return PROFILES[name as EmulationProfile];
}

/** A token bucket; `take` says how long a refused request should wait. */
export class RateLimiter {
  private tokens: number;
  private updatedAt: number;

  constructor(readonly limit: RateLimit) {
    if (!(limit.requestsPerSecond > 0) || !(limit.burst >= 1)) {
      throw new ConfigError(`rate limit ${JSON.stringify(limit)}: expected requestsPerSecond > 0 and burst >= 1`);
    }
    this.tokens = limit.burst;
    this.updatedAt = Date.now();
  }

  /** 0 when a request may pass now (and takes its token), else the milliseconds until one may. */
  take(now = Date.now()): number {
    this.tokens = Math.min(
      this.limit.burst,
      this.tokens + ((now - this.updatedAt) / 1000) * this.limit.requestsPerSecond,
    );
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) / this.limit.requestsPerSecond) * 1000));
  }
}
