/**
 * The policy-gradient losses of `LossSpec` over plain arrays, with their gradient with respect to
 * every target logprob: the reference that the CPU engine and the remote backends are checked
 * against. Per token (PAPER.md section 4; paper-digest section 4):
 *
 *   ppo:                 ratio = exp(logp - old); loss_t = -min(ratio*A, clip(ratio, 1-clipLow, 1+clipHigh)*A)
 *                        + klBeta * (exp(ref - logp) - (ref - logp) - 1)
 *   importance_sampling: loss_t = -ratio * A
 *   cross_entropy:       loss_t = -logp (always the weighted token mean)
 *
 * `clipLow` / `clipHigh` are epsilons (0.2 in the paper), not ratio bounds. Tokens are reduced by
 * `normalizationCoefficients` (token-mean or sequence-mean). Statistics, named `loss/<metric>`,
 * are weighted means over the trained tokens:
 * - `loss/clip_fraction`: the paper's logged `clip_ratio` (TRL fc4dae2): tokens where
 *   ratio*A < clip(ratio)*A. These are tokens whose ratio left the trust region on the side the
 *   pessimistic min does NOT clip (A > 0 with ratio < 1-clipLow, A < 0 with ratio > 1+clipHigh).
 * - `loss/clip_low_fraction`, `loss/clip_high_fraction`: tokens the clip actually cut off (gradient
 *   0): A < 0 with ratio < 1-clipLow, and A > 0 with ratio > 1+clipHigh.
 * - `loss/ratio_mean|min|max`, `loss/approx_kl` (k3 estimate of KL(old || current) from the old
 *   policy's samples), `loss/kl_ref` when reference logprobs are given, `loss/entropy` when
 *   per-token entropies are given, `loss/policy_loss` and `loss/kl_loss` (the two parts of the loss),
 *   `loss/tokens` (the weighted token count).
 */
import type { Datum, LossSpec } from '../training-types.js';
import { ConfigError, DataError, ShapeError } from '../errors.js';
import { klK3, klK3Gradient } from './kl.js';
import { normalizationScales } from './loss-normalization.js';

/** Everything the loss needs: the datums, the current policy's logprobs and the loss to apply. */
export interface PolicyLossInput {
  data: readonly Datum[];
  /** Current-policy logprob of every target (B, T-1), under the sampling temperature (arrays or typed arrays). */
  logprobs_B_T: readonly ArrayLike<number>[];
  loss: LossSpec;
  /** Current-policy entropy at every position (B, T-1), for the `loss/entropy` statistic. */
  entropies_B_T?: readonly ArrayLike<number>[];
}

/** The loss, its gradient and its statistics. */
export interface PolicyLossResult {
  loss: number;
  /** d loss / d logprob of every target (B, T-1); 0 where the weight is 0. */
  gradient_B_T: number[][];
  metrics: Record<string, number>;
}

/** Computes a `LossSpec` loss and its gradient with respect to the target logprobs. */
export function policyLoss(input: PolicyLossInput): PolicyLossResult {
  const { data, logprobs_B_T, loss: spec } = input;
  checkSpec(spec);
  checkShapes(input);
  const scales_B = normalizationScales(data, spec.kind === 'cross_entropy' ? 'token-mean' : spec.normalization);
  const usesRatio = spec.kind !== 'cross_entropy';
  const klBeta = spec.kind === 'ppo' ? spec.klBeta : 0;
  const low = spec.kind === 'ppo' ? 1 - spec.clipLow : -Infinity;
  const high = spec.kind === 'ppo' ? 1 + spec.clipHigh : Infinity;

  let policyTotal = 0;
  let klTotal = 0;
  const sums = {
    weight: 0,
    ratio: 0,
    approxKl: 0,
    refKl: 0,
    refWeight: 0,
    entropy: 0,
    clip: 0,
    clipLow: 0,
    clipHigh: 0,
  };
  let ratioMin = Infinity;
  let ratioMax = -Infinity;
  const gradient_B_T = data.map((datum, b) => {
    const logprobs_T = logprobs_B_T[b]!;
    const gradient_T = new Array<number>(logprobs_T.length).fill(0);
    for (let t = 0; t < logprobs_T.length; t++) {
      const weight = datum.weights[t]!;
      if (weight === 0) continue;
      const coefficient = weight * scales_B[b]!;
      const logprob = logprobs_T[t]!;
      sums.weight += weight;
      if (input.entropies_B_T) sums.entropy += weight * input.entropies_B_T[b]![t]!;
      if (!usesRatio) {
        policyTotal += coefficient * -logprob;
        gradient_T[t] = -coefficient;
        continue;
      }
      const advantage = datum.advantages![t]!;
      const logRatio = logprob - datum.oldLogprobs![t]!;
      const ratio = Math.exp(logRatio);
      sums.ratio += weight * ratio;
      sums.approxKl += weight * (ratio - 1 - logRatio);
      ratioMin = Math.min(ratioMin, ratio);
      ratioMax = Math.max(ratioMax, ratio);
      const unclipped = ratio * advantage;
      const clipped = Math.min(Math.max(ratio, low), high) * advantage;
      // -min(u, c): the gradient flows through u unless the clipped value is strictly smaller
      policyTotal += coefficient * -Math.min(unclipped, clipped);
      let derivative = unclipped <= clipped ? -unclipped : 0;
      if (unclipped < clipped) sums.clip += weight;
      if (ratio < low && advantage < 0) sums.clipLow += weight;
      if (ratio > high && advantage > 0) sums.clipHigh += weight;
      const ref = datum.refLogprobs?.[t];
      if (ref !== undefined) {
        sums.refKl += weight * klK3(logprob, ref);
        sums.refWeight += weight;
      }
      if (klBeta > 0) {
        klTotal += coefficient * klBeta * klK3(logprob, ref!);
        derivative += klBeta * klK3Gradient(logprob, ref!);
      }
      gradient_T[t] = coefficient * derivative;
    }
    return gradient_T;
  });

  const metrics: Record<string, number> = { 'loss/tokens': sums.weight, 'loss/policy_loss': policyTotal };
  const mean = (total: number) => (sums.weight > 0 ? total / sums.weight : 0);
  if (usesRatio && sums.weight > 0) {
    metrics['loss/ratio_mean'] = mean(sums.ratio);
    metrics['loss/ratio_min'] = ratioMin;
    metrics['loss/ratio_max'] = ratioMax;
    metrics['loss/approx_kl'] = mean(sums.approxKl);
  }
  if (spec.kind === 'ppo') {
    metrics['loss/clip_fraction'] = mean(sums.clip);
    metrics['loss/clip_low_fraction'] = mean(sums.clipLow);
    metrics['loss/clip_high_fraction'] = mean(sums.clipHigh);
    if (klBeta > 0) metrics['loss/kl_loss'] = klTotal;
  }
  if (sums.refWeight > 0) metrics['loss/kl_ref'] = sums.refKl / sums.refWeight;
  if (input.entropies_B_T && sums.weight > 0) metrics['loss/entropy'] = mean(sums.entropy);
  return { loss: policyTotal + klTotal, gradient_B_T, metrics };
}

function checkSpec(spec: LossSpec): void {
  if (spec.kind === 'cross_entropy') return;
  if (spec.normalization !== 'token-mean' && spec.normalization !== 'sequence-mean') {
    throw new ConfigError(
      `loss.normalization is ${JSON.stringify(spec.normalization)}; expected 'token-mean' or 'sequence-mean'`,
    );
  }
  if (spec.kind !== 'ppo') return;
  if (!(spec.clipLow >= 0 && spec.clipLow < 1)) {
    throw new ConfigError(
      `loss.clipLow is ${spec.clipLow}; expected an epsilon in [0, 1) ` +
        `(the ratio's lower bound is 1 - clipLow; the paper uses 0.2)`,
    );
  }
  if (!(spec.clipHigh >= 0 && Number.isFinite(spec.clipHigh))) {
    throw new ConfigError(
      `loss.clipHigh is ${spec.clipHigh}; expected an epsilon >= 0 ` +
        `(the ratio's upper bound is 1 + clipHigh; the paper uses 0.2)`,
    );
  }
  if (!(spec.klBeta >= 0 && Number.isFinite(spec.klBeta))) {
    throw new ConfigError(
      `loss.klBeta is ${spec.klBeta}; expected a finite number >= 0 (0 = no KL term, the paper's setting)`,
    );
  }
}

function checkShapes(input: PolicyLossInput): void {
  const { data, logprobs_B_T, loss: spec } = input;
  if (logprobs_B_T.length !== data.length) {
    throw new ShapeError(`policyLoss: ${logprobs_B_T.length} logprob rows for ${data.length} datums`);
  }
  if (input.entropies_B_T && input.entropies_B_T.length !== data.length) {
    throw new ShapeError(`policyLoss: ${input.entropies_B_T.length} entropy rows for ${data.length} datums`);
  }
  data.forEach((datum, b) => {
    const n = datum.targetTokens.length;
    const arrays: [string, ArrayLike<number> | undefined][] = [
      ['weights', datum.weights],
      ['logprobs', logprobs_B_T[b]],
      ['entropies', input.entropies_B_T?.[b]],
      ['oldLogprobs', datum.oldLogprobs],
      ['advantages', datum.advantages],
      ['refLogprobs', datum.refLogprobs],
    ];
    for (const [name, array] of arrays) {
      if (array && array.length !== n)
        throw new ShapeError(`policyLoss: datum ${b} has ${n} targets but ${name} has ${array.length} entries`);
    }
    if (spec.kind !== 'cross_entropy') {
      if (!datum.oldLogprobs || !datum.advantages) {
        throw new DataError(
          `policyLoss: datum ${b} has no ${datum.oldLogprobs ? 'advantages' : 'oldLogprobs'}; ` +
            `the ${spec.kind} loss needs oldLogprobs and advantages`,
        );
      }
    }
    if (spec.kind === 'ppo' && spec.klBeta > 0 && !datum.refLogprobs) {
      throw new DataError(
        `policyLoss: datum ${b} has no refLogprobs but loss.klBeta is ` +
          `${spec.klBeta}; compute reference logprobs or set klBeta to 0`,
      );
    }
    const logprobs_T = logprobs_B_T[b]!;
    for (let t = 0; t < n; t++) {
      const weight = datum.weights[t]!;
      if (weight === 0) continue;
      const logprob = logprobs_T[t]!;
      const old = datum.oldLogprobs?.[t] ?? 0;
      const advantage = datum.advantages?.[t] ?? 0;
      const ref = datum.refLogprobs?.[t] ?? 0;
      if (
        !(weight > 0) ||
        !Number.isFinite(logprob) ||
        !Number.isFinite(old) ||
        !Number.isFinite(advantage) ||
        !Number.isFinite(ref)
      ) {
        throw new DataError(
          `policyLoss: datum ${b}, position ${t}: weight ${weight}, ` +
            `logprob ${logprob}, oldLogprob ${old}, advantage ${advantage}, ` +
            `refLogprob ${ref}; expected a positive weight and finite values`,
        );
      }
    }
  });
}
