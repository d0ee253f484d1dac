import { describe, expect, it } from 'vitest';
import { runEstimatorContract } from './estimator-contract.suite.js';
import { createGrpoOr } from './grpo-or.js';
import { WORKED_EXPECTED, workedVectorGroup } from './worked-vector.js';

const A_O = WORKED_EXPECTED.outcome_G;

runEstimatorContract('grpo-or', {
  create: createGrpoOr,
  workedVector_G_2: A_O.map((value) => [value, value] as const),
  workedRow2WithoutResult: [A_O[2], A_O[2]],
});

describe('grpo-or', () => {
  it('ignores turn rewards entirely', () => {
    const group = workedVectorGroup();
    const before = createGrpoOr().estimate(group);
    group.trajectories[1]!.turnRewards = [5, 0];
    expect(createGrpoOr().estimate(group)).toEqual(before);
  });
});
