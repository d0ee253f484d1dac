import { describe, expect, it } from 'vitest';
import { defineReward, withWeight } from './reward-function.js';
import { REWARD_ERRORS_COMPONENT, RewardError, Rubric, hasRewardErrors } from './rubric.js';
import {
  assistantMessage as assistant,
  trajectoryFromMessages as trajectoryOf,
  userMessage as user,
} from '../testing/trajectory-from-messages.js';

const threeTurns = () => trajectoryOf([assistant('a'), user('r'), assistant('b'), user('r'), assistant('c')]);
const constant = (name: string, level: 'turn' | 'outcome', value: number, turn?: number) =>
  defineReward({ name, level, ...(turn !== undefined && { turn }), score: () => value });

describe('Rubric', () => {
  it(
    'weights turn rewards into their turn and outcome rewards into the outcome, ' + 'reporting raw components',
    async () => {
      const rubric = new Rubric([
        constant('first', 'turn', 0.5),
        withWeight(constant('second', 'turn', 0.25, 1), 2),
        withWeight(constant('quality', 'outcome', 1), 0.5),
        constant('bonus', 'outcome', 0.1),
      ]);
      const trajectory = await rubric.score(threeTurns(), {});
      expect(trajectory.turnRewards).toEqual([0.5, 0.5, 0]);
      expect(trajectory.outcomeReward).toBeCloseTo(0.6, 12);
      expect(trajectory.rewardComponents).toEqual({
        first: 0.5,
        second: 0.25,
        quality: 1,
        bonus: 0.1,
        [REWARD_ERRORS_COMPONENT]: 0,
      });
      expect(hasRewardErrors(trajectory)).toBe(false);
    },
  );

  it('accepts one value per turn from a turn-level function and reports their sum', async () => {
    const perTurn = defineReward({
      name: 'per_turn',
      level: 'turn',
      score: ({ trajectory }) => trajectory.turns.map((turn) => turn.index / 10),
    });
    const trajectory = await new Rubric([perTurn]).score(threeTurns(), {});
    expect(trajectory.turnRewards).toEqual([0, 0.1, 0.2]);
    expect(trajectory.rewardComponents['per_turn']).toBeCloseTo(0.3, 12);
  });

  it('records a throwing reward function as an error, leaves its component out and counts it', async () => {
    const throwing = defineReward({
      name: 'judge',
      level: 'outcome',
      score: () => {
        throw new Error('judge unreachable');
      },
    });
    const trajectory = await new Rubric([constant('format', 'outcome', 0.2), throwing]).score(threeTurns(), {});
    expect(trajectory.errors).toEqual(["reward 'judge' failed: judge unreachable"]);
    expect(trajectory.rewardComponents).toEqual({ format: 0.2, [REWARD_ERRORS_COMPONENT]: 1 });
    expect('judge' in trajectory.rewardComponents).toBe(false);
    expect(trajectory.outcomeReward).toBeCloseTo(0.2, 12);
    expect(hasRewardErrors(trajectory)).toBe(true);
  });

  it('records a rejected async reward and a NaN or wrong-length result as errors', async () => {
    const rejected = defineReward({
      name: 'async',
      level: 'outcome',
      score: async () => Promise.reject(new Error('timeout')),
    });
    const nan = constant('nan', 'outcome', Number.NaN);
    const wrongLength = defineReward({ name: 'short', level: 'turn', score: () => [1] });
    const trajectory = await new Rubric([rejected, nan, wrongLength]).score(threeTurns(), {});
    expect(trajectory.errors).toEqual([
      "reward 'async' failed: timeout",
      "reward 'nan' failed: returned NaN, expected a finite number",
      "reward 'short' failed: returned 1 turn values for 3 turns",
    ]);
    expect(trajectory.rewardComponents[REWARD_ERRORS_COMPONENT]).toBe(3);
    expect(trajectory.turnRewards).toEqual([0, 0, 0]);
  });

  it("throws with onError: 'throw'", async () => {
    const throwing = defineReward({
      name: 'bad',
      level: 'outcome',
      score: () => {
        throw new Error('boom');
      },
    });
    await expect(new Rubric([throwing], { onError: 'throw' }).score(threeTurns(), {})).rejects.toThrow(RewardError);
  });

  it('rejects duplicate names and the reserved component name', () => {
    expect(() => new Rubric([constant('x', 'outcome', 1), constant('x', 'turn', 1)])).toThrow(
      /two reward functions are named 'x'/,
    );
    expect(() => new Rubric([constant(REWARD_ERRORS_COMPONENT, 'outcome', 1)])).toThrow(/reserved/);
  });

  it('scores every trajectory of a group', async () => {
    const group = { rowId: 'r', row: {}, trajectories: [threeTurns(), threeTurns()] };
    await new Rubric([constant('one', 'outcome', 1)]).scoreGroup(group);
    expect(group.trajectories.map((t) => t.outcomeReward)).toEqual([1, 1]);
  });
});
