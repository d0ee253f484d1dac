import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import { TokenSampler } from './token-sampler.js';

const LOGITS = Float32Array.from([Math.log(0.1), Math.log(0.6), Math.log(0.3)]);

function counts(filter: { temperature: number; topK: number; topP: number }, draws = 3000) {
  const sampler = new TokenSampler(3);
  const random = new Random(1);
  const seen = [0, 0, 0];
  for (let i = 0; i < draws; i++) seen[sampler.draw(LOGITS, 0, filter, random).token]! += 1;
  return seen.map((c) => c / draws);
}

describe('TokenSampler', () => {
  it('draws in proportion to the softmax without filtering', () => {
    const freq = counts({ temperature: 1, topK: 0, topP: 1 });
    expect(freq[0]).toBeCloseTo(0.1, 1);
    expect(freq[1]).toBeCloseTo(0.6, 1);
    expect(freq[2]).toBeCloseTo(0.3, 1);
  });

  it('keeps only the k most likely tokens with topK', () => {
    const freq = counts({ temperature: 1, topK: 2, topP: 1 });
    expect(freq[0]).toBe(0);
    expect(freq[1]).toBeCloseTo(0.667, 1);
  });

  it('keeps the smallest nucleus reaching topP', () => {
    expect(counts({ temperature: 1, topK: 0, topP: 0.5 })).toEqual([0, 1, 0]);
    expect(counts({ temperature: 1, topK: 0, topP: 0.85 })[0]).toBe(0);
  });

  it('reports the logprob under the temperature over the whole vocabulary, filtering aside', () => {
    const sampler = new TokenSampler(3);
    const draw = sampler.draw(LOGITS, 0, { temperature: 0.5, topK: 1, topP: 1 }, new Random(0));
    expect(draw.token).toBe(1);
    const scaled = Array.from(LOGITS, (x) => x / 0.5);
    const lse = Math.log(scaled.reduce((s, x) => s + Math.exp(x), 0));
    expect(draw.logprob).toBeCloseTo(scaled[1]! - lse, 6);
  });

  it('draws the same tokens with a known normaliser as without it', () => {
    const random = new Random(5);
    const logits = Float32Array.from({ length: 50 }, () => random.normal() * 2);
    const lse = Math.log(Array.from(logits).reduce((sum, x) => sum + Math.exp(x / 0.8), 0));
    const sampler = new TokenSampler(50);
    const a = new Random(9);
    const b = new Random(9);
    for (let i = 0; i < 200; i++) {
      const withLse = sampler.draw(logits, 0, { temperature: 0.8, topK: 0, topP: 1 }, a, lse);
      const without = sampler.draw(logits, 0, { temperature: 0.8, topK: 0, topP: 1 }, b);
      expect(withLse.token).toBe(without.token);
      expect(withLse.logprob).toBeCloseTo(without.logprob, 6);
    }
  });
});
