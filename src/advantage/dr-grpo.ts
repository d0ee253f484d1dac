/**
 * Dr. GRPO style advantages: the group-mean-centred reward `R_i - mean(R)` without dividing by the
 * std, which removes GRPO's up-weighting of low-variance (too easy or too hard) questions. R is the
 * merged reward R^T + R^O by default, or R^O alone. (Dr. GRPO's other change, a constant loss
 * normaliser instead of the token count, belongs to the loss, not to the estimator.)
 */
import type { AdvantageEstimator } from './estimator.js';
import { groupCenter } from './group-stats.js';
import { createScalarEstimator, pickReward, type ScalarReward } from './scalar-estimator.js';
import { defineEstimator } from './estimator.js';
import { z } from 'zod';

/** Options of the Dr. GRPO estimator. */
export interface DrGrpoOptions {
  /** The scalar reward: `merged` (R^T + R^O, default) or `outcome` (R^O). */
  reward?: ScalarReward;
}

/** Creates the mean-centred (no std) estimator: `A_i = R_i - mean(R)` on every trainable token. */
export function createDrGrpo(options: DrGrpoOptions = {}): AdvantageEstimator {
  const reward = options.reward ?? 'merged';
  return createScalarEstimator('dr-grpo', (rewards) => groupCenter(pickReward(rewards, reward)));
}

/** `kind: dr-grpo` in a config. */
export const drGrpoEstimator = defineEstimator({
  kind: 'dr-grpo',
  summary: 'Dr. GRPO: mean-centred scalar reward, no std',
  options: {
    reward: z
      .enum(['outcome', 'merged'])
      .default('merged')
      .describe('scalar reward (outcome | merged); default merged'),
  },
  create: (options) => createDrGrpo(options),
});
