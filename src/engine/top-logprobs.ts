/**
 * The n most likely tokens of one row of logits under a temperature, with their logprobs over the
 * whole vocabulary: what a sampler reports as top alternatives (OpenAI's `top_logprobs`). It reads
 * the row the sampler already has, in O(V n) with float64 sums, so no second forward pass is needed.
 */
import type { TokenLogprob } from '../rollout/policy.js';
import type { FloatArray } from './kernels/kernels.js';

/**
 * The `n` most likely tokens of logits[offset .. offset+V) * invTemperature, most likely first (ties: lower id first).
 */
export function topLogprobs(
  logits: FloatArray,
  offset: number,
  V: number,
  invTemperature: number,
  n: number,
): TokenLogprob[] {
  const count = Math.min(n, V);
  if (count <= 0) return [];
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, logits[offset + v]! * invTemperature);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[offset + v]! * invTemperature - max);
  const lse = max + Math.log(sum);
  // best holds ids sorted by logit, highest first; scanning ids upwards and inserting only when
  // strictly better keeps the lower id ahead on ties.
  const best: number[] = [];
  const logit = (token: number): number => logits[offset + token]!;
  for (let v = 0; v < V; v++) {
    const value = logit(v);
    if (best.length === count) {
      if (!(value > logit(best[count - 1]!))) continue;
      best.pop();
    }
    let at = best.length;
    best.push(v);
    while (at > 0 && value > logit(best[at - 1]!)) {
      best[at] = best[at - 1]!;
      at--;
    }
    best[at] = v;
  }
  return best.map((token) => ({ token, logprob: logit(token) * invTemperature - lse }));
}
