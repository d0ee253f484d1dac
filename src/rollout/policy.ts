/**
 * The Policy contract: sample a continuation of a token sequence. Implemented by the CPU engine,
 * by remote samplers (Tinker, vLLM) and by the scripted policy of `turnwise/testing`.
 *
 * Concurrency is the batching mechanism: a rollout awaits one `sample` per turn, and an
 * implementation is free to batch all requests pending at the same time into one decoding batch.
 */
import type { Tokenizer } from './tokenizer.js';

/** How to sample one continuation. */
export interface SamplingParams {
  /** Softmax temperature (> 0); logprobs are reported under this temperature. */
  temperature: number;
  /** Keep only the k most likely tokens; 0 or less = off. */
  topK: number;
  /** Nucleus sampling mass in (0, 1]; 1 = off. */
  topP: number;
  /** Most tokens to generate in this call. */
  maxTokens: number;
  /** Stop once the generated text contains one of these strings; the stop string is kept. */
  stop: string[];
  /** Stop after generating one of these token ids (kept in the output). */
  stopTokenIds?: number[];
}

/** One sampling request. */
export interface SampleRequest {
  /** The whole sequence so far (prompt plus earlier turns, exact ids). */
  tokens: number[];
  params: SamplingParams;
  /** Seed of this request's draws; the same seed and inputs give the same tokens. */
  seed: number;
  /**
   * Identifies a rollout whose later turns extend this sequence: an implementation with a KV
   * cache keeps it under this id and prefills only the new tokens next time.
   */
  sessionId?: string;
  /**
   * Also report the `topLogprobs` most likely tokens at every generated position (0 or absent:
   * none). A policy that cannot leaves `SampleResult.topLogprobs` unset.
   */
  topLogprobs?: number;
}

/** A token id and its logprob under the sampling temperature. */
export interface TokenLogprob {
  token: number;
  logprob: number;
}

/** One generated token as a streaming sampler reports it. */
export interface GeneratedToken extends TokenLogprob {
  /** The most likely alternatives at its position, when the request asked for them. */
  topLogprobs?: TokenLogprob[];
}

/** What one sampling call produced. */
export interface SampleResult {
  /** Generated token ids, the stop string's tokens included. */
  tokens: number[];
  /** Logprob of each generated token under `params.temperature` (same length as `tokens`). */
  logprobs: number[];
  /** `stop` when a stop string or stop token ended generation, `length` on `maxTokens`. */
  finishReason: 'stop' | 'length';
  /**
   * Per generated token (same length as `tokens`), the `request.topLogprobs` most likely tokens at
   * its position with their logprobs under `params.temperature`, most likely first (ties: lower id
   * first); set only by policies that compute alternatives.
   */
  topLogprobs?: TokenLogprob[][];
}

/** Something that samples continuations. */
export interface Policy {
  readonly tokenizer: Tokenizer;
  /**
   * True when the policy serves identical requests with consecutive seeds s..s+k-1 as one call
   * (a remote sampler's `num_samples = k`, sample i seeded s + i): `rolloutGroups` then seeds the
   * first turn of a group's rollouts consecutively. Other policies keep every rollout's own draws.
   */
  readonly coalescesConsecutiveSeeds?: boolean;
  /**
   * The longest token sequence (prompt and everything after it) the policy can hold, when it has a
   * limit (the engine's context). `runRollout` ends a rollout there as it ends one at its budget.
   */
  readonly maxSequenceLength?: number;
  /**
   * Samples one continuation. `onToken`, when given, is called with each token as it is generated
   * (for streaming); a policy that only produces whole results may never call it.
   */
  sample(request: SampleRequest, onToken?: (token: GeneratedToken) => void): Promise<SampleResult>;
  /** Frees what is kept for `sessionId` (a finished rollout). Optional. */
  release?(sessionId: string): void;
}
