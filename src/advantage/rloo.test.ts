import { describe, expect, it } from 'vitest';
import { createDrGrpo } from './dr-grpo.js';
import { runEstimatorContract, variedGroup } from './estimator-contract.suite.js';
import { createRloo } from './rloo.js';

// merged rewards of the worked vector [2.6, 0.6, 0.04, 1.6]: A_i = R_i - mean of the other three
const LEAVE_ONE_OUT_G = [2.6 - 2.24 / 3, 0.6 - 4.24 / 3, 0.04 - 4.8 / 3, 1.6 - 3.24 / 3];

runEstimatorContract('rloo', {
  create: createRloo,
  workedVector_G_2: LEAVE_ONE_OUT_G.map((value) => [value, value] as const),
  workedRow2WithoutResult: [LEAVE_ONE_OUT_G[2]!, LEAVE_ONE_OUT_G[2]!],
});

describe('rloo', () => {
  it('equals G/(G-1) times the mean-centred advantage', () => {
    const group = variedGroup();
    const G = group.trajectories.length;
    for (const reward of ['merged', 'outcome'] as const) {
      const leaveOneOut = createRloo({ reward }).estimate(group);
      const centred = createDrGrpo({ reward }).estimate(group);
      leaveOneOut.forEach((row, i) =>
        row.forEach((value, t) => expect(value).toBeCloseTo((G / (G - 1)) * centred[i]![t]!, 12)),
      );
    }
  });

  it('gives zero advantage to a lone rollout', () => {
    const group = variedGroup();
    const advantages = createRloo().estimate({ ...group, trajectories: group.trajectories.slice(0, 1) });
    for (const value of advantages[0]!) expect(value).toBe(0);
  });
});
