/**
 * Capability flags of a Tinker-protocol server: the differences between hosted Tinker, SkyRL's
 * open-source server and `turnwise serve` that the client must respect (tinker-protocol.md
 * sections 1.2 and 2). Chosen by preset, detected from `client/config`, or overridden by the user.
 */

/** What a server supports and how it answers. */
export interface TinkerCapabilities {
  /** Which server family the flags were chosen for. */
  server: 'hosted' | 'skyrl' | 'turnwise';
  /** Accepts the `turnwise` extension (exact LossSpec, temperature, reassembled chunks). */
  turnwiseExtensions: boolean;
  /** `sampling_params.max_tokens` must be sent (the client always sends it). */
  requiresMaxTokens: boolean;
  /** Failed futures come back as HTTP 400 `{"detail"}` instead of 200 `{error, category}`. */
  failedFutureAs400: boolean;
  /** Returns prompt logprobs from `asample` (false on skyrl-train). */
  supportsPromptLogprobs: boolean;
  /** Applies `grad_clip_norm` (SkyRL ignores it). */
  honorsGradClip: boolean;
  /** Loss functions the server runs. */
  lossFns: string[];
  /** Most datums per forward_backward request. */
  maxChunkDatums: number;
  /** Most bytes of datums per forward_backward request. */
  maxChunkBytes: number;
  /**
   * Takes stop strings and stop token ids in one `stop` list. Hosted Tinker and SkyRL take one kind
   * per request (SkyRL answers 400 to a mixed list), so the client sends token ids there.
   */
  mixedStops: boolean;
  /** Most sequences one `asample` request may ask for (`num_samples`). */
  maxNumSamples: number;
}

/** Presets of the three known server families. */
export const CAPABILITY_PRESETS: Record<TinkerCapabilities['server'], TinkerCapabilities> = {
  hosted: {
    server: 'hosted',
    turnwiseExtensions: false,
    requiresMaxTokens: false,
    failedFutureAs400: false,
    supportsPromptLogprobs: true,
    honorsGradClip: true,
    lossFns: ['cross_entropy', 'importance_sampling', 'ppo', 'cispo', 'dro'],
    maxChunkDatums: 1024,
    maxChunkBytes: 5_000_000,
    mixedStops: false,
    maxNumSamples: 64,
  },
  skyrl: {
    server: 'skyrl',
    turnwiseExtensions: false,
    requiresMaxTokens: true,
    failedFutureAs400: true,
    supportsPromptLogprobs: false,
    honorsGradClip: false,
    lossFns: ['cross_entropy', 'importance_sampling', 'ppo', 'gspo', 'cispo'],
    maxChunkDatums: 1024,
    maxChunkBytes: 5_000_000,
    mixedStops: false,
    maxNumSamples: 64,
  },
  turnwise: {
    server: 'turnwise',
    turnwiseExtensions: true,
    requiresMaxTokens: false,
    failedFutureAs400: false,
    supportsPromptLogprobs: false,
    honorsGradClip: true,
    lossFns: ['cross_entropy', 'importance_sampling', 'ppo'],
    maxChunkDatums: 1024,
    maxChunkBytes: 5_000_000,
    mixedStops: true,
    maxNumSamples: 64,
  },
};

/**
 * Picks capabilities from a `client/config` answer (null when the endpoint is missing): a turnwise
 * server says so, hosted Tinker returns its chunking flags, SkyRL only `pjwt_auth_enabled`.
 */
export function detectCapabilities(config: Record<string, unknown> | null): TinkerCapabilities {
  let preset: TinkerCapabilities;
  if (config && config.turnwise_extensions === true) preset = CAPABILITY_PRESETS.turnwise;
  else if (config && ('fwdbwd_max_chunk_len' in config || 'sample_max_concurrent_requests' in config))
    preset = CAPABILITY_PRESETS.hosted;
  else preset = CAPABILITY_PRESETS.skyrl;
  const capabilities = { ...preset, lossFns: [...preset.lossFns] };
  if (config) {
    if (typeof config.fwdbwd_max_chunk_len === 'number' && config.fwdbwd_max_chunk_len > 0)
      capabilities.maxChunkDatums = config.fwdbwd_max_chunk_len;
    if (typeof config.fwdbwd_max_chunk_bytes_count === 'number' && config.fwdbwd_max_chunk_bytes_count > 0) {
      capabilities.maxChunkBytes = config.fwdbwd_max_chunk_bytes_count;
    }
  }
  return capabilities;
}
