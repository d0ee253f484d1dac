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

  it('selects the same nucleus and top k as a full sort on a large vocabulary', () => {
    const random = new Random(8);
    const V = 5000;
    const logits = Float32Array.from({ length: V }, () => random.normal() * 3);
    const sampler = new TokenSampler(V);
    const probabilities = Array.from(logits, (x) => Math.exp(x));
    const total = probabilities.reduce((a, b) => a + b, 0);
    const sorted = probabilities.map((p, v) => [p / total, v] as const).sort((a, b) => b[0] - a[0]);
    const top50 = new Set(sorted.slice(0, 50).map(([, v]) => v));
    let cumulative = 0;
    const nucleus = new Set<number>();
    for (const [p, v] of sorted) {
      nucleus.add(v);
      cumulative += p;
      if (cumulative >= 0.6) break;
    }
    const draws = new Random(1);
    for (let i = 0; i < 300; i++) {
      expect(top50.has(sampler.draw(logits, 0, { temperature: 1, topK: 50, topP: 1 }, draws).token)).toBe(true);
      expect(nucleus.has(sampler.draw(logits, 0, { temperature: 1, topK: 0, topP: 0.6 }, draws).token)).toBe(true);
    }
    // The most likely token is drawn in proportion to its share of the nucleus.
    const best = sorted[0]![1];
    const hits = Array.from(
      { length: 3000 },
      () => sampler.draw(logits, 0, { temperature: 1, topK: 0, topP: 0.6 }, draws).token,
    ).filter((t) => t === best).length;
    expect(hits / 3000).toBeCloseTo(sorted[0]![0] / cumulative, 1);
  });
});
