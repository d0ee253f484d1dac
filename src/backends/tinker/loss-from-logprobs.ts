/**
 * The value of a `LossSpec` computed from per-token logprobs, for servers that return the learner's
 * logprobs but not (or not comparably) the loss: standard Tinker servers sum without
 * normalisation, and SkyRL's JAX backend returns no metrics at all. Mirrors the loss of PAPER.md
 * section 4 (clipped ratio, token- or sequence-mean); the KL term is not supported remotely.
 */
import type { Datum, LossSpec } from '../../training-types.js';
import { normalisationScales } from './datum-codec.js';

/** Loss value and statistics of `loss` given the current-policy logprobs of every target. */
export function lossFromLogprobs(
  data: Datum[],
  loss: LossSpec,
  logprobs_B_T: number[][],
): { loss: number; metrics: Record<string, number> } {
  const scales_B_T = normalisationScales(data, loss);
  let value = 0;
  let clipped = 0;
  let trained = 0;
  let approxKl = 0;
  data.forEach((datum, b) => {
    datum.weights.forEach((weight, t) => {
      if (weight === 0) return;
      const logp = logprobs_B_T[b]![t]!;
      const scale = scales_B_T[b]![t]!;
      trained++;
      if (loss.kind === 'cross_entropy') {
        value += -logp * scale;
        return;
      }
      const old = datum.oldLogprobs?.[t] ?? logp;
      const advantage = datum.advantages?.[t] ?? 0;
      const ratio = Math.exp(logp - old);
      approxKl += old - logp;
      const unclipped = ratio * advantage;
      if (loss.kind === 'importance_sampling') {
        value += -unclipped * scale;
        return;
      }
      const bounded = Math.min(Math.max(ratio, 1 - loss.clipLow), 1 + loss.clipHigh) * advantage;
      if (bounded < unclipped) clipped++;
      value += -Math.min(unclipped, bounded) * scale;
    });
  });
  const metrics: Record<string, number> = {};
  if (loss.kind !== 'cross_entropy') {
    metrics['loss/approx_kl'] = trained === 0 ? 0 : approxKl / trained;
    if (loss.kind === 'ppo') metrics['loss/clip_fraction'] = trained === 0 ? 0 : clipped / trained;
  }
  return { loss: value, metrics };
}
