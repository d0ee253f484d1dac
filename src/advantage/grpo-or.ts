/**
 * GRPO-OR (outcome reward only, PAPER.md section 3): every token of rollout i gets
 * `norm(R^O)_i`; turn rewards are ignored. The paper's baseline that learns to stop calling tools.
 */
import type { AdvantageEstimator } from './estimator.js';
import { groupNormalize } from './group-stats.js';
import { createScalarEstimator } from './scalar-estimator.js';
import { defineEstimator } from './estimator.js';

/** Creates the GRPO-OR estimator: `A_i = norm(R^O)_i` on every trainable token. */
export function createGrpoOr(): AdvantageEstimator {
  return createScalarEstimator('grpo-or', (rewards) => groupNormalize(rewards.outcome_G));
}

/** `kind: grpo-or` in a config. */
export const grpoOrEstimator = defineEstimator({
  kind: 'grpo-or',
  summary: 'outcome reward only, group-normalised, on every token',
  options: {},
  create: () => createGrpoOr(),
});
