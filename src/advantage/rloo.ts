/**
 * RLOO (REINFORCE leave-one-out): every token of rollout i gets `R_i - mean_{j != i} R_j`, an
 * unbiased baseline built from the other G-1 rollouts, without std scaling. R is the merged reward
 * R^T + R^O by default, or R^O alone. Zero for G < 2.
 */
import type { AdvantageEstimator } from './estimator.js';
import { leaveOneOut } from './group-stats.js';
import { createScalarEstimator, pickReward, type ScalarReward } from './scalar-estimator.js';
import { defineEstimator } from './estimator.js';
import { z } from 'zod';

/** Options of the RLOO estimator. */
export interface RlooOptions {
  /** The scalar reward: `merged` (R^T + R^O, default) or `outcome` (R^O). */
  reward?: ScalarReward;
}

/** Creates the RLOO estimator: `A_i = R_i - mean_{j != i} R_j` on every trainable token. */
export function createRloo(options: RlooOptions = {}): AdvantageEstimator {
  const reward = options.reward ?? 'merged';
  return createScalarEstimator('rloo', (rewards) => leaveOneOut(pickReward(rewards, reward)));
}

/** `kind: rloo` in a config. */
export const rlooEstimator = defineEstimator({
  kind: 'rloo',
  summary: 'leave-one-out baseline on a scalar reward',
  options: {
    reward: z
      .enum(['outcome', 'merged'])
      .default('merged')
      .describe('scalar reward (outcome | merged); default merged'),
  },
  create: (options) => createRloo(options),
});
