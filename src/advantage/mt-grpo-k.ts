/**
 * K-turn MT-GRPO (PAPER.md section 3 "beyond"; paper v2 appendix D) for any number of tool turns:
 *
 *   A_{i,k} = sum_{l=k}^{L-1} alpha^(l-k) norm_l(R^I_{.,l})_i + alpha^(K_i-1-k) norm(R^O)_i
 *
 * (0-based step k). A trajectory is split into tool steps (token-layout.ts `toolSteps`): step k ends
 * where its k-th tool result begins, the final step is everything after the last tool result, so a
 * rollout with r tool results has K_i = r + 1 steps. R^I_{i,l} is the sum of the turn rewards of
 * the assistant turns in step l, and every token of step k gets A_{i,k}. L = max_i K_i. A turn
 * reward on the final step (after the last tool result; 0 in the paper's task, where R^T scores
 * turn 1) is kept as that index's own term rather than dropped.
 *
 * Baseline when rollouts take different numbers of turns: MISSING TURNS COUNT AS ZERO REWARD.
 * R^I_{i,l} = 0 for every step l >= K_i the rollout never reached, each turn index l is normalised
 * over ALL G rollouts, and the sum runs over every index any rollout reached (so a rollout that
 * stopped early also receives the centred terms of the turns it skipped). Each term is then a
 * group statistic of one well-defined quantity (the reward collected at turn index l, 0 once the
 * episode has ended) with a baseline shared by the whole group: step k's advantage is a sum of
 * centred reward-to-go terms whose baseline does not depend on the rollout's own actions, which
 * leaves only the bias GRPO itself has (the mean includes the rollout; the per-index std
 * scaling). The alternative, normalising index l over the rollouts that reached it, compares
 * survivors only with each other: the choice to continue (or stop) gets no credit and the
 * statistics are undefined with fewer than two survivors. Groups of G < 2 get zero advantages.
 *
 * For two fixed turns (every rollout has exactly one tool result and no turn reward after it)
 * this equals paper-exact MT-GRPO at alpha = lambda = 1 (tested). It differs on purpose for a
 * rollout with no tool result: it is a one-step rollout and gets the reward-to-go
 * norm_0(R^I_0)_i + norm_1(R^I_1)_i + norm(R^O)_i, not the paper's GRPO-MR fallback. For alpha < 1 the
 * outcome term is discounted by the rollout's own number of steps (alpha^(K_i-1-k)), as the
 * paper's formula writes it.
 */
import type { GroupAdvantages, TrajectoryGroup } from '../types.js';
import type { AdvantageEstimator } from './estimator.js';
import { groupNormalize, groupRewards } from './group-stats.js';
import { advantageRow, checkTrajectoryLayout, toolSteps } from './token-layout.js';
import { defineEstimator } from './estimator.js';
import { z } from 'zod';

/** Options of the K-turn MT-GRPO estimator. */
export interface MtGrpoKOptions {
  /** Discount alpha in [0, 1] applied per step to later terms (default 1, the paper's value). */
  alpha?: number;
}

/** Creates the K-turn MT-GRPO estimator (missing turns count as zero reward). */
export function createMtGrpoK(options: MtGrpoKOptions = {}): AdvantageEstimator {
  const alpha = options.alpha ?? 1;
  return {
    name: 'mt-grpo-k',
    estimate(group: TrajectoryGroup): GroupAdvantages {
      group.trajectories.forEach((trajectory, i) => {
        checkTrajectoryLayout(trajectory, `group ${group.rowId}, rollout ${i}`);
      });
      const outcomeAdvantages_G = groupNormalize(groupRewards(group).outcome_G);
      const steps_G = group.trajectories.map(toolSteps);
      const L = Math.max(0, ...steps_G.map((steps) => steps.length));
      // stepAdvantages_L_G[l][i] = norm over all G of R^I_{i,l}, with 0 for steps rollout i never reached
      const stepAdvantages_L_G: number[][] = [];
      for (let l = 0; l < L; l++)
        stepAdvantages_L_G.push(groupNormalize(steps_G.map((steps) => steps[l]?.reward ?? 0)));
      return group.trajectories.map((trajectory, i) => {
        const steps = steps_G[i]!;
        const K = steps.length;
        // stepValue_K[k]: the advantage of every token in step k (the formula in the header)
        const stepValue_K = steps.map((_, k) => {
          let value = 0;
          for (let l = k; l < L; l++) value += alpha ** (l - k) * stepAdvantages_L_G[l]![i]!;
          return value + alpha ** (K - 1 - k) * outcomeAdvantages_G[i]!;
        });
        let k = 0;
        return advantageRow(trajectory, (t) => {
          while (k < K - 1 && t >= steps[k]!.span.end) k++;
          return stepValue_K[k]!;
        });
      });
    },
    constantSpans: (trajectory) => toolSteps(trajectory).map((step) => step.span),
  };
}

/** `kind: mt-grpo-k` in a config. */
export const mtGrpoKEstimator = defineEstimator({
  kind: 'mt-grpo-k',
  summary: 'K-turn MT-GRPO: discounted reward-to-go over every tool step',
  options: {
    alpha: z.number().min(0).max(1).default(1).describe('discount of later turn rewards; default 1'),
  },
  create: (options) => createMtGrpoK(options),
});
