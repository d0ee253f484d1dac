/**
 * The shape shared by the estimators that give every token of a rollout one value (GRPO-OR,
 * GRPO-MR, RLOO, Dr. GRPO): compute one advantage per rollout from the group's rewards, then write
 * it on every trainable token.
 */
import type { GroupAdvantages, TrajectoryGroup } from '../types.js';
import type { AdvantageEstimator } from './estimator.js';
import { groupRewards, type GroupRewards } from './group-stats.js';
import { advantageRow, checkTrajectoryLayout, completionSpan } from './token-layout.js';

/** Which scalar reward a one-value-per-rollout estimator uses. */
export type ScalarReward = 'outcome' | 'merged';

/** Picks R^O or R^T + R^O from the group's rewards. */
export function pickReward(rewards: GroupRewards, reward: ScalarReward): number[] {
  return reward === 'outcome' ? rewards.outcome_G : rewards.merged_G;
}

/** Builds an estimator that gives rollout i the value `perRollout(rewards)[i]` on all trainable tokens. */
export function createScalarEstimator(
  name: string,
  perRollout: (rewards: GroupRewards) => number[],
): AdvantageEstimator {
  return {
    name,
    estimate(group: TrajectoryGroup): GroupAdvantages {
      group.trajectories.forEach((trajectory, i) => {
        checkTrajectoryLayout(trajectory, `group ${group.rowId}, rollout ${i}`);
      });
      const advantages_G = perRollout(groupRewards(group));
      return group.trajectories.map((trajectory, i) => advantageRow(trajectory, () => advantages_G[i]!));
    },
    constantSpans: (trajectory) => [completionSpan(trajectory)],
  };
}
