import { describe, expect, it } from 'vitest';
import { normalizationCoefficients, normalizationScales } from './loss-normalization.js';

describe('normalizationCoefficients', () => {
  const data = [{ weights: [1, 0, 1, 1] }, { weights: [0, 0] }, { weights: [1] }];

  it('divides every trained token by the batch token count for token-mean', () => {
    expect(normalizationCoefficients(data, 'token-mean')).toEqual([[0.25, 0, 0.25, 0.25], [0, 0], [0.25]]);
  });

  it('averages each sequence over its own tokens, then over the sequences with any, for sequence-mean', () => {
    expect(normalizationCoefficients(data, 'sequence-mean')).toEqual([[1 / 6, 0, 1 / 6, 1 / 6], [0, 0], [0.5]]);
  });

  it('gives all zeros when nothing is trained', () => {
    expect(normalizationCoefficients([{ weights: [0] }], 'token-mean')).toEqual([[0]]);
    expect(normalizationCoefficients([{ weights: [0] }], 'sequence-mean')).toEqual([[0]]);
  });

  it('factors into one scale per sequence times the token weight', () => {
    expect(normalizationScales(data, 'token-mean')).toEqual([0.25, 0.25, 0.25]);
    expect(normalizationScales(data, 'sequence-mean')).toEqual([1 / 6, 0, 0.5]);
  });
});
