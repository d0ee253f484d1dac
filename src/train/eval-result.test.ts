import { describe, expect, it } from 'vitest';
import { familySubset, type EvalResult } from './eval-result.js';

const result: EvalResult = {
  split: 'test',
  mode: 'sampled',
  checkpoint: 'x',
  questions: 6,
  rollouts: 6,
  metrics: { tool_execution: 0.1, exact_match: 0.5 },
  byFamily: {
    capital: { count: 3, metrics: { tool_execution: 0.2, exact_match: 1, 'stop/token_budget': 1 / 3 } },
    anthem: { count: 1, metrics: { tool_execution: 0.2, exact_match: 0 } },
    flag_reverse: { count: 2, metrics: { tool_execution: 0, exact_match: 0 } },
  },
  wallSeconds: 1,
};

describe('familySubset', () => {
  it('averages the kept families weighted by their rollouts; a metric a family lacks counts as 0', () => {
    const kept = familySubset(result, (family) => family !== 'flag_reverse')!;
    expect(kept.rollouts).toBe(4);
    expect(kept.questions).toBe(4);
    expect(kept.metrics['tool_execution']).toBeCloseTo(0.2);
    expect(kept.metrics['exact_match']).toBeCloseTo(3 / 4);
    expect(kept.metrics['stop/token_budget']).toBeCloseTo(1 / 4);
    expect(Object.keys(kept.byFamily).sort()).toEqual(['anthem', 'capital']);
  });

  it('is undefined when no family is kept', () => {
    expect(familySubset(result, () => false)).toBeUndefined();
  });
});
