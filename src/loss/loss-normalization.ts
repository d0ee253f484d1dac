/**
 * How per-token losses are reduced to one number: the coefficient `c[b][t]` that multiplies token
 * t of datum b, weight included. `token-mean` (the paper's default, PAPER.md section 4) divides by
 * the weighted token count of the whole batch; `sequence-mean` (the paper's Eq. 3 form) averages
 * each sequence over its own tokens, then averages over the sequences that have any. Remote
 * backends whose losses are plain sums get the same result by scaling advantages by these
 * coefficients.
 */
import type { Datum } from '../training-types.js';

/**
 * Per-sequence factors s[b] of the reduction: token t of datum b is multiplied by
 * `weights[b][t] * s[b]` (0 for a sequence with no trained token).
 */
export function normalizationScales(
  data: readonly Pick<Datum, 'weights'>[],
  normalization: 'token-mean' | 'sequence-mean',
): number[] {
  const sums_B = data.map((datum) => {
    let sum = 0;
    for (const weight of datum.weights) sum += weight;
    return sum;
  });
  if (normalization === 'token-mean') {
    const total = sums_B.reduce((a, b) => a + b, 0);
    return sums_B.map(() => (total > 0 ? 1 / total : 0));
  }
  const sequences = sums_B.filter((sum) => sum > 0).length;
  return sums_B.map((sum) => (sum > 0 ? 1 / (sum * sequences) : 0));
}

/** Per-token reduction coefficients (B, T-1): loss = sum_b sum_t c[b][t] * loss[b][t]. */
export function normalizationCoefficients(
  data: readonly Pick<Datum, 'weights'>[],
  normalization: 'token-mean' | 'sequence-mean',
): number[][] {
  const scales_B = normalizationScales(data, normalization);
  return data.map((datum, b) => datum.weights.map((weight) => weight * scales_B[b]!));
}
