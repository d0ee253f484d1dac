import { describe, expect, it } from 'vitest';
import { topLogprobs } from './top-logprobs.js';

describe('topLogprobs', () => {
  it('lists the n most likely tokens of a row under the temperature, lower id first on ties', () => {
    const logits = Float32Array.from([9, 1, 3, 3, 0, 5, 3]);
    const row = logits.subarray(1); // offset 1: [1, 3, 3, 0, 5, 3]
    const top = topLogprobs(logits, 1, 6, 0.5, 4);
    const scaled = Array.from(row, (value) => value * 0.5);
    const lse = Math.log(scaled.reduce((sum, value) => sum + Math.exp(value), 0));
    expect(top.map((entry) => entry.token)).toEqual([4, 1, 2, 5]);
    top.forEach((entry) => expect(entry.logprob).toBeCloseTo(scaled[entry.token]! - lse, 12));
  });

  it('returns the whole vocabulary when n exceeds it, and nothing for n = 0', () => {
    const logits = Float64Array.from([0, 2, 1]);
    expect(topLogprobs(logits, 0, 3, 1, 10).map((entry) => entry.token)).toEqual([1, 2, 0]);
    expect(topLogprobs(logits, 0, 3, 1, 0)).toEqual([]);
  });
});
