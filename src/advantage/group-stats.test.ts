import { describe, expect, it } from 'vitest';
import { groupCenter, groupNormalize, leaveOneOut } from './group-stats.js';

describe('groupNormalize', () => {
  it('uses the unbiased std plus 1e-4', () => {
    // mean 1, unbiased std 1: (r - 1) / 1.0001
    expect(groupNormalize([0, 1, 2])).toEqual([-1 / 1.0001, 0, 1 / 1.0001]);
  });

  it('gives exact zeros for a constant group even when the mean is not representable', () => {
    expect(groupNormalize([0.1, 0.1, 0.1])).toEqual([0, 0, 0]);
    expect(groupCenter([0.1, 0.1, 0.1])).toEqual([0, 0, 0]);
    expect(leaveOneOut([0.1, 0.1, 0.1])).toEqual([0, 0, 0]);
  });

  it('gives zero for a lone rollout instead of NaN', () => {
    expect(groupNormalize([3])).toEqual([0]);
    expect(leaveOneOut([3])).toEqual([0]);
    expect(groupNormalize([])).toEqual([]);
  });
});

describe('leaveOneOut', () => {
  it('subtracts the mean of the other rollouts', () => {
    expect(leaveOneOut([1, 2, 6])).toEqual([1 - 4, 2 - 3.5, 6 - 1.5]);
  });
});
