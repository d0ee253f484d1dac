import { describe, expect, it } from 'vitest';
import { DataError, ShapeError } from '../errors.js';
import { runEstimatorContract, variedGroup } from './estimator-contract.suite.js';
import { createMtGrpo } from './mt-grpo.js';
import { syntheticGroup } from './synthetic-trajectory.js';
import { WORKED_EXPECTED, workedVectorGroup } from './worked-vector.js';

const { mtTurnOne_G, mtTurnTwo_G, merged_G, turn_G, outcome_G } = WORKED_EXPECTED;

runEstimatorContract('mt-grpo', {
  create: createMtGrpo,
  workedVector_G_2: mtTurnOne_G.map((value, i) => [value, mtTurnTwo_G[i]!] as const),
  // the paper's fallback: a rollout with no <result> gets the GRPO-MR value on all its tokens
  workedRow2WithoutResult: [merged_G[2], merged_G[2]],
});

function valueOfTurn(group: ReturnType<typeof variedGroup>, advantages: number[][], i: number, k: number): number {
  return advantages[i]![group.trajectories[i]!.turns[k]!.sampled.start]!;
}

describe('mt-grpo', () => {
  it('puts lambda on the turn-level term of turn-1 tokens', () => {
    const group = workedVectorGroup();
    const advantages = createMtGrpo({ lambda: 0.5 }).estimate(group);
    for (let i = 0; i < 4; i++) {
      expect(valueOfTurn(group, advantages, i, 0)).toBeCloseTo(outcome_G[i]! + 0.5 * turn_G[i]!, 3);
      expect(valueOfTurn(group, advantages, i, 1)).toBeCloseTo(outcome_G[i]!, 3);
    }
  });

  it('counts every malformed turn before the first tool result as turn 1', () => {
    const group = variedGroup();
    const advantages = createMtGrpo().estimate(group);
    // rollout 2: turn 0 malformed (format-error message), turn 1 tool result, turn 2 answer
    const first = valueOfTurn(group, advantages, 2, 0);
    expect(valueOfTurn(group, advantages, 2, 1)).toBe(first);
    expect(valueOfTurn(group, advantages, 2, 2)).not.toBe(first);
  });

  it('treats a failed tool result (Error: inside <result>) as the turn-1 boundary', () => {
    const group = variedGroup();
    const advantages = createMtGrpo().estimate(group);
    // rollout 3: turn 0 gets an error result, turn 1 a result, turn 2 answers
    const first = valueOfTurn(group, advantages, 3, 0);
    const later = valueOfTurn(group, advantages, 3, 1);
    expect(later).not.toBe(first);
    expect(valueOfTurn(group, advantages, 3, 2)).toBe(later);
  });

  it('gives a single-turn rollout without a result the merged value on all its tokens', () => {
    const group = variedGroup();
    const advantages = createMtGrpo().estimate(group);
    const merged = group.trajectories.map(
      (trajectory) => trajectory.turnRewards.reduce((a, b) => a + b, 0) + trajectory.outcomeReward,
    );
    const mean = merged.reduce((a, b) => a + b, 0) / merged.length;
    const std = Math.sqrt(merged.reduce((a, b) => a + (b - mean) ** 2, 0) / (merged.length - 1));
    expect(valueOfTurn(group, advantages, 1, 0)).toBeCloseTo((merged[1]! - mean) / (std + 1e-4), 12);
  });

  it('rejects a non-finite reward with a DataError naming the rollout', () => {
    const group = workedVectorGroup();
    group.trajectories[3]!.outcomeReward = Number.NaN;
    expect(() => createMtGrpo().estimate(group)).toThrow(DataError);
    expect(() => createMtGrpo().estimate(group)).toThrow(/rollout 3: outcomeReward is NaN/);
  });

  it('rejects a trainable mask that does not match the tokens', () => {
    const group = syntheticGroup([
      { turns: [{}], outcomeReward: 1 },
      { turns: [{}], outcomeReward: 0 },
    ]);
    group.trajectories[1]!.trainable.pop();
    expect(() => createMtGrpo().estimate(group)).toThrow(ShapeError);
  });

  it('rejects a nonzero turn reward for a turn that does not exist', () => {
    const group = syntheticGroup([
      { turns: [{}], outcomeReward: 1 },
      { turns: [{}], outcomeReward: 0 },
    ]);
    group.trajectories[0]!.turnRewards = [0, 0.5];
    expect(() => createMtGrpo().estimate(group)).toThrow(/turnRewards\[1\] = 0.5 but the trajectory has only 1 turns/);
  });
});
