import { describe, expect, it } from 'vitest';
import type { Datum } from '../training-types.js';
import { foldKlPenalty } from './kl-penalty.js';

const datum = (oldLogprobs: number[], advantages: number[], weights: number[]): Datum => ({
  inputTokens: oldLogprobs.map((_, t) => t),
  targetTokens: oldLogprobs.map((_, t) => t + 1),
  weights,
  oldLogprobs,
  advantages,
});

describe('foldKlPenalty', () => {
  it('lowers the advantage of tokens the policy favours more than the base, raises the others', () => {
    // d = old - ref: 1.0 and 0.0 on the trained tokens; mean 0.5; the masked token is ignored.
    const data = [datum([-1, -2, -3], [0.5, 0.5, 0], [1, 1, 0])];
    const metrics = foldKlPenalty(data, [[-2, -2, -100]], 0.1);
    expect(metrics['kl/policy_base']).toBeCloseTo(0.5);
    expect(data[0]!.advantages![0]).toBeCloseTo(0.5 + 0.1 * (0.5 - 1));
    expect(data[0]!.advantages![1]).toBeCloseTo(0.5 + 0.1 * (0.5 - 0));
    expect(data[0]!.advantages![2]).toBe(0);
    expect(metrics['kl/advantage_shift_abs_mean']).toBeCloseTo(0.05);
  });

  it('averages over every trained token of the batch, so the shifts sum to zero', () => {
    const data = [datum([-1, -1], [0, 0], [1, 1]), datum([-0.5], [1], [1])];
    foldKlPenalty(data, [[-1.5, -3], [-0.1]], 0.2);
    const shifts = [...data[0]!.advantages!, data[1]!.advantages![0]! - 1];
    expect(shifts.reduce((sum, value) => sum + value, 0)).toBeCloseTo(0, 12);
  });

  it('leaves advantages alone when policy and base agree', () => {
    const data = [datum([-1, -2], [0.3, -0.3], [1, 1])];
    expect(foldKlPenalty(data, [[-1, -2]], 1)['kl/policy_base']).toBe(0);
    expect(data[0]!.advantages).toEqual([0.3, -0.3]);
  });

  it('names a reference of the wrong shape', () => {
    expect(() => foldKlPenalty([datum([-1], [0], [1])], [], 0.1)).toThrow(
      /reference logprobs for 0 datums, expected 1/,
    );
    expect(() => foldKlPenalty([datum([-1], [0], [1])], [[-1, -2]], 0.1)).toThrow(
      /datum 0: 2 reference logprobs, expected 1/,
    );
  });
});
