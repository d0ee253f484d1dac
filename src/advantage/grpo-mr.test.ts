import { describe, expect, it } from 'vitest';
import { runEstimatorContract } from './estimator-contract.suite.js';
import { createGrpoMr } from './grpo-mr.js';
import { WORKED_EXPECTED, workedVectorGroup } from './worked-vector.js';

const A_M = WORKED_EXPECTED.merged_G;

runEstimatorContract('grpo-mr', {
  create: createGrpoMr,
  workedVector_G_2: A_M.map((value) => [value, value] as const),
  workedRow2WithoutResult: [A_M[2], A_M[2]],
});

describe('grpo-mr', () => {
  it('sums every turn reward of a rollout into R^T', () => {
    const group = workedVectorGroup();
    const before = createGrpoMr().estimate(group);
    group.trajectories[0]!.turnRewards = [0.3, 0.4]; // same total 0.7
    const after = createGrpoMr().estimate(group);
    after.forEach((row, i) => row.forEach((value, t) => expect(value).toBeCloseTo(before[i]![t]!, 12)));
  });
});
