/**
 * The worked vector of PAPER.md section 3 (G = 4) as synthetic groups, with the expected values
 * printed in the paper's table: the golden test every estimator is checked against.
 */
import type { TrajectoryGroup } from '../types.js';
import { syntheticGroup } from './synthetic-trajectory.js';

/** R^T of the four rollouts (G). */
export const WORKED_TURN_REWARDS_G = [0.7, 0.2, 0.0, 0.7] as const;
/** R^O of the four rollouts (G). */
export const WORKED_OUTCOME_REWARDS_G = [1.9, 0.4, 0.04, 0.9] as const;

/** The table's columns, rounded to 4 decimals as printed (G each). */
export const WORKED_EXPECTED = {
  turn_G: [0.8427, -0.5618, -1.1236, 0.8427],
  outcome_G: [1.3493, -0.5075, -0.9532, 0.1114],
  merged_G: [1.2309, -0.5402, -1.0361, 0.3454],
  mtTurnOne_G: [2.192, -1.0693, -2.0768, 0.9541],
  mtTurnTwo_G: [1.3493, -0.5075, -0.9532, 0.1114],
} as const;

/**
 * The worked group: each rollout is a tool call answered by a tool result (turn 0, carrying R^T),
 * then an answer (turn 1). With `row2WithoutResult`, rollout 2's first turn is malformed and gets
 * the format-error message instead, so it never sees a result. Turn lengths differ per rollout so
 * that indexing bugs show.
 */
export function workedVectorGroup(options: { row2WithoutResult?: boolean } = {}): TrajectoryGroup {
  return syntheticGroup(
    WORKED_TURN_REWARDS_G.map((turnReward, i) => ({
      promptLength: 3 + i,
      turns: [
        {
          sampledLength: 4 + i,
          reply: options.row2WithoutResult && i === 2 ? ('invalid' as const) : ('result' as const),
          replyLength: 5,
          reward: turnReward,
        },
        { sampledLength: 6 - i, reward: 0 },
      ],
      outcomeReward: WORKED_OUTCOME_REWARDS_G[i]!,
    })),
    'worked-vector',
  );
}
