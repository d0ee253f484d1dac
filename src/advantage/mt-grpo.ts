/**
 * MT-GRPO, paper-exact (PAPER.md section 3; paper-digest 3.1, the reference `_assign_advantages`):
 *
 *   turn-1 tokens (every model token before the first tool-result message): norm(R^O)_i + lambda * norm(R^T)_i
 *   tokens after the first tool result:                                      norm(R^O)_i
 *   a rollout with no tool result at all:          norm(R^T + R^O)_i on every token (GRPO-MR fallback,
 *                                                  with the group statistics of the combined reward)
 *
 * R^T_i is the sum of the rollout's turn rewards; norm uses the unbiased std + 1e-4. lambda sits on
 * the turn term as in the reference code (`--turn_advantage_coef`); the paper writes it on the
 * outcome term, identical at the reported lambda = 1.
 */
import type { GroupAdvantages, TrajectoryGroup } from '../types.js';
import type { AdvantageEstimator } from './estimator.js';
import { groupNormalize, groupRewards } from './group-stats.js';
import { advantageRow, checkTrajectoryLayout, completionSpan, firstToolResultStart } from './token-layout.js';
import { defineEstimator } from './estimator.js';
import { z } from 'zod';

/** Options of the MT-GRPO estimator. */
export interface MtGrpoOptions {
  /** Weight of the turn-level term on turn-1 tokens (default 1, the paper's value). */
  lambda?: number;
}

/** Creates the paper-exact MT-GRPO estimator. */
export function createMtGrpo(options: MtGrpoOptions = {}): AdvantageEstimator {
  const lambda = options.lambda ?? 1;
  return {
    name: 'mt-grpo',
    estimate(group: TrajectoryGroup): GroupAdvantages {
      group.trajectories.forEach((trajectory, i) => {
        checkTrajectoryLayout(trajectory, `group ${group.rowId}, rollout ${i}`);
      });
      const rewards = groupRewards(group);
      const turnAdvantages_G = groupNormalize(rewards.turn_G);
      const outcomeAdvantages_G = groupNormalize(rewards.outcome_G);
      const mergedAdvantages_G = groupNormalize(rewards.merged_G);
      return group.trajectories.map((trajectory, i) => {
        const split = firstToolResultStart(trajectory);
        if (split === undefined) return advantageRow(trajectory, () => mergedAdvantages_G[i]!);
        const turnOne = outcomeAdvantages_G[i]! + lambda * turnAdvantages_G[i]!;
        return advantageRow(trajectory, (t) => (t < split ? turnOne : outcomeAdvantages_G[i]!));
      });
    },
    constantSpans(trajectory) {
      const split = firstToolResultStart(trajectory);
      const whole = completionSpan(trajectory);
      if (split === undefined) return [whole];
      return [
        { start: whole.start, end: split },
        { start: split, end: whole.end },
      ];
    },
  };
}

/** `kind: mt-grpo` in a config. */
export const mtGrpoEstimator = defineEstimator({
  kind: 'mt-grpo',
  summary: 'turn-level credit: the normalised turn reward on turn-1 tokens, the outcome on all (paper-exact)',
  options: {
    lambda: z
      .number()
      .min(0)
      .default(1)
      .describe('weight of the normalised turn reward on turn-1 tokens (paper: 1); default 1'),
  },
  create: (options) => createMtGrpo(options),
});
