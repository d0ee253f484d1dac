/**
 * The KL penalty folded into the advantages, for services whose loss functions have no KL term
 * (tinker-cookbook `rl/metrics.py` `incorporate_kl_penalty`). Per trained token t of every datum,
 * with d_t = sampled logprob - base logprob (a one-sample estimate of log pi/pi_base):
 *
 *   advantage_t += klBeta * (mean_d - d_t)        mean_d over every trained token of the batch
 *
 * so a token the policy favours more than the base does (d_t above the mean) loses advantage,
 * pulling the policy back toward the base. `mean_d` estimates KL(pi || base) and is logged.
 */
import { DataError } from '../errors.js';
import type { Datum } from '../training-types.js';

/** Adds the KL penalty to every datum's advantages in place; returns `kl/*` metrics. */
export function foldKlPenalty(data: Datum[], reference_B_T: number[][], klBeta: number): Record<string, number> {
  if (reference_B_T.length !== data.length)
    throw new DataError(`reference logprobs for ${reference_B_T.length} datums, expected ${data.length}`);
  let diffSum = 0;
  let trained = 0;
  const diffs_B_T = data.map((datum, b) => {
    const reference_T = reference_B_T[b]!;
    if (!datum.oldLogprobs || !datum.advantages)
      throw new DataError(`datum ${b}: the KL penalty needs oldLogprobs and advantages`);
    if (reference_T.length !== datum.targetTokens.length)
      throw new DataError(
        `datum ${b}: ${reference_T.length} reference logprobs, expected ${datum.targetTokens.length} (one per target)`,
      );
    return datum.weights.map((weight, t) => {
      if (weight === 0) return 0;
      const diff = datum.oldLogprobs![t]! - reference_T[t]!;
      if (!Number.isFinite(diff)) throw new DataError(`datum ${b}, target ${t}: reference logprob ${reference_T[t]}`);
      diffSum += diff;
      trained++;
      return diff;
    });
  });
  const meanDiff = trained > 0 ? diffSum / trained : 0;
  let shiftSum = 0;
  data.forEach((datum, b) => {
    datum.advantages = datum.advantages!.map((advantage, t) => {
      if (datum.weights[t] === 0) return advantage;
      const shift = klBeta * (meanDiff - diffs_B_T[b]![t]!);
      shiftSum += Math.abs(shift);
      return advantage + shift;
    });
  });
  return { 'kl/policy_base': meanDiff, 'kl/advantage_shift_abs_mean': trained > 0 ? shiftSum / trained : 0 };
}
