import { describe, expect, it } from 'vitest';
import { packMicroBatch, planMicroBatches } from './micro-batches.js';

describe('micro-batches', () => {
  it('groups sequences longest first within the token budget, a longer sequence alone', () => {
    const lengths = [3, 9, 4, 12, 2, 5];
    const groups = planMicroBatches(lengths, 10);
    expect(groups).toEqual([[3], [1], [5, 2], [0, 4]]);
    for (const group of groups) {
      const tokens = group.reduce((sum, index) => sum + lengths[index]!, 0);
      expect(tokens <= 10 || group.length === 1).toBe(true);
    }
    expect(groups.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('packs sequences back to back with their offsets, no padding', () => {
    const sequences = [
      { inputTokens: [1, 2], targetTokens: [2, 3] },
      { inputTokens: [4, 5, 6], targetTokens: [5, 6, 7] },
      { inputTokens: [8], targetTokens: [9] },
    ];
    const batch = packMicroBatch(sequences, [1, 0, 2], 10);
    expect(batch.N).toBe(6);
    expect(Array.from(batch.offsets)).toEqual([0, 3, 5, 6]);
    expect(Array.from(batch.inputIds)).toEqual([4, 5, 6, 1, 2, 8]);
    expect(Array.from(batch.targets)).toEqual([5, 6, 7, 2, 3, 9]);
  });

  it('rejects empty and mismatched sequences and ids outside the vocabulary, naming the sequence', () => {
    expect(() => planMicroBatches([1], 0)).toThrow(/maxTokens must be > 0, got 0/);
    expect(() => packMicroBatch([{ inputTokens: [], targetTokens: [] }], [0], 10)).toThrow(/sequence 0 is empty/);
    expect(() => packMicroBatch([{ inputTokens: [1, 2], targetTokens: [2] }], [0], 10)).toThrow(
      /sequence 0: inputTokens has 2 tokens but targetTokens has 1/,
    );
    expect(() => packMicroBatch([{ inputTokens: [1, 12], targetTokens: [2, 3] }], [0], 10)).toThrow(
      /sequence 0, position 1: token ids 12 -> 3 must be integers in \[0, 10\)/,
    );
  });
});
