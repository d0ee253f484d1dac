/**
 * Group statistics shared by the estimators: the paper's standardisation (unbiased std + 1e-4,
 * PAPER.md section 3), mean-centring, the leave-one-out baseline, and the extraction of each
 * rollout's turn-reward total R^T and outcome reward R^O with validation.
 */
import { DataError } from '../errors.js';
import type { TrajectoryGroup } from '../types.js';

/** The epsilon added to the group std in the paper's `norm` (TRL / reference code). */
export const NORM_EPSILON = 1e-4;

/** True when every value equals the first (such a group carries no learning signal). */
export function allEqual(values: readonly number[]): boolean {
  return values.every((value) => value === values[0]);
}

/**
 * Whether a group's outcome rewards R^O, and its turn-reward totals R^T, differ between its
 * rollouts: where each reward gives the estimators a learning signal.
 */
export function rewardsVary(group: TrajectoryGroup): { outcome: boolean; turn: boolean } {
  return {
    outcome: !allEqual(group.trajectories.map((trajectory) => trajectory.outcomeReward)),
    turn: !allEqual(group.trajectories.map((trajectory) => trajectory.turnRewards.reduce((a, b) => a + b, 0))),
  };
}

/** The arithmetic mean (0 for an empty array). */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let total = 0;
  for (const value of values) total += value;
  return total / values.length;
}

/**
 * The paper's `norm(r)_i = (r_i - mean(r)) / (std(r) + 1e-4)` with the unbiased std (divide by G-1).
 * Exactly 0 for a constant group and for G < 2 (where the unbiased std is undefined).
 */
export function groupNormalize(values_G: readonly number[]): number[] {
  const G = values_G.length;
  if (G < 2 || allEqual(values_G)) return values_G.map(() => 0);
  const center = mean(values_G);
  let squares = 0;
  for (const value of values_G) squares += (value - center) ** 2;
  const std = Math.sqrt(squares / (G - 1));
  return values_G.map((value) => (value - center) / (std + NORM_EPSILON));
}

/** Mean-centred rewards `r_i - mean(r)` (Dr. GRPO); exactly 0 for a constant group. */
export function groupCenter(values_G: readonly number[]): number[] {
  if (values_G.length < 2 || allEqual(values_G)) return values_G.map(() => 0);
  const center = mean(values_G);
  return values_G.map((value) => value - center);
}

/** Leave-one-out advantages `r_i - mean_{j != i} r_j` (RLOO); 0 for G < 2 and constant groups. */
export function leaveOneOut(values_G: readonly number[]): number[] {
  const G = values_G.length;
  if (G < 2 || allEqual(values_G)) return values_G.map(() => 0);
  let total = 0;
  for (const value of values_G) total += value;
  return values_G.map((value) => value - (total - value) / (G - 1));
}

/** The two rewards of every rollout of a group, in group order. */
export interface GroupRewards {
  /** R^T_i: the sum of trajectory i's turn rewards (G). */
  turn_G: number[];
  /** R^O_i: trajectory i's outcome reward (G). */
  outcome_G: number[];
  /** R^T_i + R^O_i, the merged reward of GRPO-MR (G). */
  merged_G: number[];
}

/** Reads R^T (sum of turn rewards) and R^O of every rollout; throws DataError on a non-finite reward. */
export function groupRewards(group: TrajectoryGroup): GroupRewards {
  const turn_G: number[] = [];
  const outcome_G: number[] = [];
  group.trajectories.forEach((trajectory, i) => {
    let turnTotal = 0;
    trajectory.turnRewards.forEach((reward, k) => {
      if (!Number.isFinite(reward)) {
        throw new DataError(
          `group ${group.rowId}, rollout ${i}: turnRewards[${k}] is ${reward}; expected a finite number ` +
            `(a reward function that failed must be recorded in trajectory.errors and the rollout dropped)`,
        );
      }
      turnTotal += reward;
    });
    if (!Number.isFinite(trajectory.outcomeReward)) {
      throw new DataError(
        `group ${group.rowId}, rollout ${i}: outcomeReward is ${trajectory.outcomeReward}; expected a finite number`,
      );
    }
    turn_G.push(turnTotal);
    outcome_G.push(trajectory.outcomeReward);
  });
  return { turn_G, outcome_G, merged_G: turn_G.map((turn, i) => turn + outcome_G[i]!) };
}
