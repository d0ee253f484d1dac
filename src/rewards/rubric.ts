/**
 * A Rubric: turn-level and outcome reward functions with weights. Scoring a trajectory fills
 * `turnRewards` (K entries, weighted sums per turn), `outcomeReward` (weighted sum) and
 * `rewardComponents` (each function's unweighted value by name, a metric of its own; a turn-level
 * function returning one value per turn reports their sum).
 *
 * A reward function that throws or returns a non-finite value is an error, never a silent 0: the
 * message lands in `trajectory.errors` (`reward 'name' failed: ...`), the function's component is
 * left out of `rewardComponents` (so metric means are not dragged down by fake zeros), the sums
 * leave it out, and `rewardComponents.reward_errors` counts the failed functions (0 when all
 * succeeded, so its mean is the failure rate). `hasRewardErrors` tells a trainer which trajectories
 * to drop. With `onError: 'throw'` the first failure throws instead.
 */
import { TurnwiseError, errorMessage } from '../errors.js';
import { activeProfile, PHASE } from '../step-profile.js';
import type { Trajectory, TrajectoryGroup } from '../types.js';
import { completionMessages, type RewardFunction } from './reward-function.js';

/** Name of the component that counts the reward functions that failed on a trajectory. */
export const REWARD_ERRORS_COMPONENT = 'reward_errors';

/** Options of a rubric. */
export interface RubricOptions {
  /** `record` (default): failures go to `trajectory.errors`; `throw`: the first failure throws. */
  onError?: 'record' | 'throw';
}

/** Thrown by a rubric with `onError: 'throw'` when a reward function fails. */
export class RewardError extends TurnwiseError {
  override name = 'RewardError';
}

/** True when a reward function failed on this trajectory. */
export function hasRewardErrors(trajectory: Trajectory): boolean {
  return (trajectory.rewardComponents[REWARD_ERRORS_COMPONENT] ?? 0) > 0;
}

/** Turn-level and outcome reward functions with weights. */
export class Rubric<Row = unknown> {
  readonly functions: readonly RewardFunction<Row>[];
  private readonly onError: 'record' | 'throw';

  constructor(functions: RewardFunction<Row>[], options: RubricOptions = {}) {
    const names = new Set<string>();
    for (const fn of functions) {
      if (names.has(fn.name)) throw new TurnwiseError(`Rubric: two reward functions are named '${fn.name}'`);
      if (fn.name === REWARD_ERRORS_COMPONENT)
        throw new TurnwiseError(`Rubric: '${REWARD_ERRORS_COMPONENT}' is reserved`);
      if (fn.weight !== undefined && !Number.isFinite(fn.weight))
        throw new TurnwiseError(`Rubric: reward '${fn.name}' has weight ${fn.weight}`);
      if (fn.turn !== undefined && (!Number.isInteger(fn.turn) || fn.turn < 0)) {
        throw new TurnwiseError(`Rubric: reward '${fn.name}' has turn ${fn.turn}, expected a non-negative integer`);
      }
      names.add(fn.name);
    }
    this.functions = functions;
    this.onError = options.onError ?? 'record';
  }

  /** Scores one trajectory in place (and returns it). */
  async score(trajectory: Trajectory, row: Row): Promise<Trajectory> {
    const turnCount = trajectory.turns.length;
    const turnRewards_K = new Array<number>(turnCount).fill(0);
    let outcomeReward = 0;
    const components: Record<string, number> = {};
    let failures = 0;
    const context = { trajectory, row, completion: completionMessages(trajectory) };

    for (const fn of this.functions) {
      const weight = fn.weight ?? 1;
      let values: number[];
      let placeAt: number | undefined;
      try {
        const profile = activeProfile();
        const start = profile ? performance.now() : 0;
        const scoring = fn.score(context); // its synchronous part is timed: an await lets other work run
        profile?.add(PHASE.reward, start);
        const value = await scoring;
        if (Array.isArray(value)) {
          if (fn.level === 'outcome') throw new RewardError(`an outcome reward must return one number, got an array`);
          if (value.length !== turnCount)
            throw new RewardError(`returned ${value.length} turn values for ${turnCount} turns`);
          values = value;
        } else {
          values = [value];
          placeAt = fn.level === 'turn' ? (fn.turn ?? 0) : undefined;
        }
        const bad = values.find((v) => typeof v !== 'number' || !Number.isFinite(v));
        if (bad !== undefined) throw new RewardError(`returned ${String(bad)}, expected a finite number`);
      } catch (error) {
        const message = `reward '${fn.name}' failed: ${errorMessage(error)}`;
        if (this.onError === 'throw')
          throw new RewardError(`${message} (row ${trajectory.rowId}, rollout ${trajectory.groupIndex})`);
        trajectory.errors.push(message);
        failures++;
        continue;
      }
      components[fn.name] = values.reduce((sum, v) => sum + v, 0);
      if (fn.level === 'outcome') outcomeReward += weight * values[0]!;
      else if (placeAt === undefined) {
        values.forEach((v, k) => {
          turnRewards_K[k]! += weight * v;
        });
      } else if (placeAt < turnCount) turnRewards_K[placeAt]! += weight * values[0]!;
      // A trajectory with fewer turns than `placeAt` has no turn to credit; the component still reports it.
    }
    components[REWARD_ERRORS_COMPONENT] = failures;
    trajectory.turnRewards = turnRewards_K;
    trajectory.outcomeReward = outcomeReward;
    trajectory.rewardComponents = components;
    return trajectory;
  }

  /** Scores every trajectory of a group in place (and returns it). */
  async scoreGroup<G extends TrajectoryGroup<Row>>(group: G): Promise<G> {
    await Promise.all(group.trajectories.map((trajectory) => this.score(trajectory, group.row)));
    return group;
  }
}
