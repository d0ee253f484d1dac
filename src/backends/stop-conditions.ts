/**
 * Client-side enforcement of a `SamplingParams` stop condition on a sampled continuation: remote
 * samplers accept either stop strings or stop token ids (not both), and may drop or keep the stop
 * string's tokens. The continuation is cut right after the first stop token id or after the token
 * that completes the first stop string, so every sampler returns what the Policy contract says.
 */
import type { SampleResult, SamplingParams } from '../rollout/policy.js';
import type { Tokenizer } from '../rollout/tokenizer.js';

/** Cuts `result` after its first stop token or stop string; leaves it whole when none occurs. */
export function applyStops(
  result: SampleResult,
  params: Pick<SamplingParams, 'stop' | 'stopTokenIds'>,
  tokenizer: Tokenizer,
): SampleResult {
  let end = result.tokens.length;
  let stopped = false;
  const stopIds = params.stopTokenIds ?? [];
  if (stopIds.length > 0) {
    const index = result.tokens.findIndex((token) => stopIds.includes(token));
    if (index >= 0) {
      end = index + 1;
      stopped = true;
    }
  }
  if (params.stop.length > 0) {
    const text = tokenizer.decode(result.tokens.slice(0, end));
    if (params.stop.some((stop) => text.includes(stop))) {
      // The shortest prefix whose text contains a stop string.
      for (let length = 1; length <= end; length++) {
        const prefix = tokenizer.decode(result.tokens.slice(0, length));
        if (params.stop.some((stop) => prefix.includes(stop))) {
          end = length;
          stopped = true;
          break;
        }
      }
    }
  }
  if (!stopped || (end === result.tokens.length && result.finishReason === 'stop')) return result;
  return { tokens: result.tokens.slice(0, end), logprobs: result.logprobs.slice(0, end), finishReason: 'stop' };
}
