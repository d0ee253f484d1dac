/**
 * Reference (TypeScript) per-token log-probabilities under a sampling temperature, with each
 * row's log-sum-exp (saved for the backward) and optional entropy.
 */

import type { FloatArray } from '../kernels.js';

/** logprobs(N) = logits[n,target]*invT - lse[n]; lse(N) = logsumexp(logits*invT); entropy(N) optional. */
export function logprobsForward(
  logprobs: FloatArray,
  lse: FloatArray,
  entropy: FloatArray | null,
  logits: FloatArray,
  targets: Int32Array,
  N: number,
  V: number,
  invTemperature: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * V;
    let max = -Infinity;
    for (let i = 0; i < V; i++) max = Math.max(max, logits[row + i]! * invTemperature);
    let sum = 0;
    let weighted = 0;
    for (let i = 0; i < V; i++) {
      const z = logits[row + i]! * invTemperature;
      const e = Math.exp(z - max);
      sum += e;
      weighted += e * z;
    }
    const rowLse = max + Math.log(sum);
    lse[n] = rowLse;
    logprobs[n] = logits[row + targets[n]!]! * invTemperature - rowLse;
    // entropy = -sum p log p = lse - sum p z
    if (entropy !== null) entropy[n] = rowLse - weighted / sum;
  }
}

/** dlogits(N,V) += dlogprobs[n] * invT * (onehot(target) - softmax(logits*invT)). */
export function logprobsBackward(
  dlogits: FloatArray,
  dlogprobs: FloatArray,
  logits: FloatArray,
  lse: FloatArray,
  targets: Int32Array,
  N: number,
  V: number,
  invTemperature: number,
): void {
  for (let n = 0; n < N; n++) {
    const scale = dlogprobs[n]! * invTemperature;
    if (scale === 0) continue;
    const row = n * V;
    const rowLse = lse[n]!;
    for (let i = 0; i < V; i++) dlogits[row + i]! -= scale * Math.exp(logits[row + i]! * invTemperature - rowLse);
    dlogits[row + targets[n]!]! += scale;
  }
}
