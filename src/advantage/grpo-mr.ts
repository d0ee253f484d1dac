/**
 * GRPO-MR (merged rewards, PAPER.md section 3): every token of rollout i gets
 * `norm(R^T + R^O)_i`, where R^T is the sum of the rollout's turn rewards.
 */
import type { AdvantageEstimator } from './estimator.js';
import { groupNormalize } from './group-stats.js';
import { createScalarEstimator } from './scalar-estimator.js';
import { defineEstimator } from './estimator.js';

/** Creates the GRPO-MR estimator: `A_i = norm(R^T + R^O)_i` on every trainable token. */
export function createGrpoMr(): AdvantageEstimator {
  return createScalarEstimator('grpo-mr', (rewards) => groupNormalize(rewards.merged_G));
}

/** `kind: grpo-mr` in a config. */
export const grpoMrEstimator = defineEstimator({
  kind: 'grpo-mr',
  summary: 'turn plus outcome reward merged, group-normalised, on every token',
  options: {},
  create: () => createGrpoMr(),
});
