import { describe, expect, it } from 'vitest';
import { createDrGrpo } from './dr-grpo.js';
import { runEstimatorContract } from './estimator-contract.suite.js';
import { workedVectorGroup } from './worked-vector.js';

// merged rewards of the worked vector: [2.6, 0.6, 0.04, 1.6], mean 1.21
const CENTERED_G = [1.39, -0.61, -1.17, 0.39];

runEstimatorContract('dr-grpo', {
  create: createDrGrpo,
  workedVector_G_2: CENTERED_G.map((value) => [value, value] as const),
  workedRow2WithoutResult: [CENTERED_G[2]!, CENTERED_G[2]!],
});

describe('dr-grpo', () => {
  it('centres the outcome reward without dividing by the std when asked for outcome only', () => {
    const group = workedVectorGroup();
    const advantages = createDrGrpo({ reward: 'outcome' }).estimate(group);
    // R^O = [1.9, 0.4, 0.04, 0.9], mean 0.81
    [1.09, -0.41, -0.77, 0.09].forEach((expected, i) => {
      const t = group.trajectories[i]!.turns[0]!.sampled.start;
      expect(advantages[i]![t]).toBeCloseTo(expected, 12);
    });
  });
});
