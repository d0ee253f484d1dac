import { describe, expect, it } from 'vitest';
import { normalizationCoefficients } from '../../loss/loss-normalization.js';
import type { Datum } from '../../training-types.js';
import { encodeStandardData, normalisationScales } from './datum-codec.js';

const datum = (weights: number[], advantage = 1): Datum => ({
  inputTokens: weights.map((_, t) => t + 1),
  targetTokens: weights.map((_, t) => t + 2),
  weights,
  oldLogprobs: weights.map(() => -1),
  advantages: weights.map((weight) => weight * advantage),
});

describe('the Tinker datum codec', () => {
  it('reduces a sequence-mean loss like the local engine when a sequence has no trained token', () => {
    const data = [datum([1, 1, 0]), datum([0, 0, 0]), datum([1, 0, 0])];
    const ppo = { kind: 'ppo', clipLow: 0.2, clipHigh: 0.2, klBeta: 0, normalization: 'sequence-mean' } as const;
    expect(normalisationScales(data, ppo)).toEqual(normalizationCoefficients(data, 'sequence-mean'));
    // Two sequences train, so each counts one half: 1/(2*2) per token of the first, 1/(1*2) of the last.
    expect(normalisationScales(data, ppo)).toEqual([
      [0.25, 0.25, 0],
      [0, 0, 0],
      [0.5, 0, 0],
    ]);
    const encoded = encodeStandardData(data, ppo);
    expect(encoded[2]!.loss_fn_inputs.advantages!.data).toEqual([0.5, 0, 0]);
  });

  it('reduces cross-entropy over every weighted token of the call', () => {
    const data = [datum([1, 1, 0]), datum([0, 1, 1])];
    expect(normalisationScales(data, { kind: 'cross_entropy' })).toEqual([
      [0.25, 0.25, 0],
      [0, 0.25, 0.25],
    ]);
  });
});
