/**
 * The RewardFunction contract: a named, weighted score of a finished trajectory. A turn-level
 * function scores turns (R^I_k; the paper's turn rewards score turn 0), an outcome function scores
 * the whole episode (R^O). Functions are values collected in a Rubric, never branches on a name.
 */
import type { Message, Trajectory } from '../types.js';

/** What a reward function sees. */
export interface RewardContext<Row = unknown> {
  trajectory: Trajectory;
  row: Row;
  /** The messages after the prompt: assistant turns and environment replies, in order. */
  completion: Message[];
}

/** A reward function of a rubric. */
export interface RewardFunction<Row = unknown> {
  /** Metric name of the function's unweighted value (`rewardComponents[name]`). */
  name: string;
  /** `turn`: adds to `turnRewards`; `outcome`: adds to `outcomeReward`. */
  level: 'turn' | 'outcome';
  /** Weight in the sums (default 1; the paper's are all 1). */
  weight?: number;
  /** For a turn-level function that returns one number: the turn it scores (default 0). */
  turn?: number;
  /**
   * The unweighted score. Outcome functions return a number; turn-level functions return a number
   * (for turn `turn`) or one number per turn (K).
   */
  score(context: RewardContext<Row>): number | number[] | Promise<number | number[]>;
}

/** Defines a reward function (identity, for type inference of the row). */
export function defineReward<Row = unknown>(reward: RewardFunction<Row>): RewardFunction<Row> {
  return reward;
}

/** The same reward function with another weight. */
export function withWeight<Row>(reward: RewardFunction<Row>, weight: number): RewardFunction<Row> {
  return { ...reward, weight, score: reward.score.bind(reward) };
}

/** The messages after the prompt, rebuilt from the trajectory's turns. */
export function completionMessages(trajectory: Trajectory): Message[] {
  const messages: Message[] = [];
  for (const turn of trajectory.turns) {
    messages.push(turn.assistant);
    if (turn.envMessages !== undefined) messages.push(...turn.envMessages);
    else if (turn.env !== undefined) messages.push(turn.env);
  }
  return messages;
}
