import { describe, expect, it } from 'vitest';
import type { Datum, LossSpec } from '../training-types.js';
import { ConfigError, DataError, ShapeError } from '../errors.js';
import { Random } from '../random.js';
import { klK3 } from './kl.js';
import { policyLoss } from './policy-loss.js';

const PPO: LossSpec = { kind: 'ppo', clipLow: 0.2, clipHigh: 0.2, klBeta: 0, normalization: 'token-mean' };

/** One-token datum whose current/old logprobs give the requested ratio. */
function oneToken(ratio: number, advantage: number): { datum: Datum; logprobs: number[] } {
  const old = -1;
  return {
    datum: { inputTokens: [1], targetTokens: [2], weights: [1], oldLogprobs: [old], advantages: [advantage] },
    logprobs: [old + Math.log(ratio)],
  };
}

/** A random batch with weight-0 positions, ratios in [0.5, 1.6] kept away from the clip kinks. */
function randomBatch(random: Random, withReference: boolean): { data: Datum[]; logprobs_B_T: number[][] } {
  const data: Datum[] = [];
  const logprobs_B_T: number[][] = [];
  for (let b = 0; b < 3; b++) {
    const n = 3 + random.int(6);
    const weights = Array.from({ length: n }, (_, t) => (t === 0 || random.next() < 0.75 ? 1 : 0));
    const oldLogprobs = weights.map((w) => (w ? -0.1 - 3 * random.next() : 0));
    const advantages = weights.map((w) => (w ? 2 * random.next() - 1 : 0));
    const logprobs = oldLogprobs.map((old) => {
      let ratio: number;
      do ratio = 0.5 + 1.1 * random.next();
      while (Math.abs(ratio - 0.8) < 0.01 || Math.abs(ratio - 1.2) < 0.01);
      return old + Math.log(ratio);
    });
    const datum: Datum = {
      inputTokens: weights.map(() => 5),
      targetTokens: weights.map(() => 6),
      weights,
      oldLogprobs,
      advantages,
    };
    if (withReference) datum.refLogprobs = logprobs.map((logprob) => logprob + 0.5 * (random.next() - 0.5));
    data.push(datum);
    logprobs_B_T.push(logprobs);
  }
  return { data, logprobs_B_T };
}

describe('policyLoss', () => {
  const specs: [string, LossSpec, boolean][] = [
    ['ppo token-mean', PPO, false],
    ['ppo sequence-mean', { ...PPO, normalization: 'sequence-mean' }, false],
    ['ppo with k3 KL (beta 0.3) and asymmetric clip', { ...PPO, clipLow: 0.1, clipHigh: 0.28, klBeta: 0.3 }, true],
    ['importance_sampling token-mean', { kind: 'importance_sampling', normalization: 'token-mean' }, false],
    ['importance_sampling sequence-mean', { kind: 'importance_sampling', normalization: 'sequence-mean' }, false],
    ['cross_entropy', { kind: 'cross_entropy' }, false],
  ];
  for (const [name, spec, withReference] of specs) {
    it(`matches central finite differences of its gradient: ${name}`, () => {
      const random = new Random(name.length);
      const { data, logprobs_B_T } = randomBatch(random, withReference);
      const { gradient_B_T } = policyLoss({ data, logprobs_B_T, loss: spec });
      const h = 1e-6;
      let checked = 0;
      logprobs_B_T.forEach((row, b) =>
        row.forEach((_, t) => {
          const shifted = (delta: number) =>
            logprobs_B_T.map((r, bb) => r.map((v, tt) => (bb === b && tt === t ? v + delta : v)));
          const numeric =
            (policyLoss({ data, logprobs_B_T: shifted(h), loss: spec }).loss -
              policyLoss({ data, logprobs_B_T: shifted(-h), loss: spec }).loss) /
            (2 * h);
          expect(Math.abs(gradient_B_T[b]![t]! - numeric)).toBeLessThan(1e-7 * Math.max(1, Math.abs(numeric)));
          if (data[b]!.weights[t] === 0) expect(gradient_B_T[b]![t]).toBe(0);
          if (gradient_B_T[b]![t] !== 0) checked++;
        }),
      );
      expect(checked).toBeGreaterThan(5);
    });
  }

  it('computes -min(ratio*A, clip(ratio)*A) and its gradient on hand cases', () => {
    const cases = [
      // ratio, A, loss, gradient, counted by clip_fraction (paper), clip_low, clip_high
      [1.5, 1, -1.2, 0, 0, 0, 1],
      [0.5, 1, -0.5, -0.5, 1, 0, 0],
      [0.5, -1, 0.8, 0, 0, 1, 0],
      [1.5, -1, 1.5, 1.5, 1, 0, 0],
      [1.1, 2, -2.2, -2.2, 0, 0, 0],
      [1.7, 0, 0, 0, 0, 0, 0],
    ] as const;
    for (const [ratio, advantage, loss, gradient, clip, clipLow, clipHigh] of cases) {
      const { datum, logprobs } = oneToken(ratio, advantage);
      const result = policyLoss({ data: [datum], logprobs_B_T: [logprobs], loss: PPO });
      expect(result.loss, `ratio ${ratio}, A ${advantage}`).toBeCloseTo(loss, 12);
      expect(result.gradient_B_T[0]![0], `ratio ${ratio}, A ${advantage}`).toBeCloseTo(gradient, 12);
      expect(result.metrics['loss/clip_fraction']).toBe(clip);
      expect(result.metrics['loss/clip_low_fraction']).toBe(clipLow);
      expect(result.metrics['loss/clip_high_fraction']).toBe(clipHigh);
    }
  });

  it('reports the clip fraction over the trained tokens of the whole batch', () => {
    const tokens = [oneToken(0.5, 1), oneToken(1.5, -1), oneToken(1.5, 1), oneToken(1, 1)];
    const masked: Datum = { ...oneToken(0.5, 0).datum, weights: [0], advantages: [0] };
    const result = policyLoss({
      data: [...tokens.map((x) => x.datum), masked],
      logprobs_B_T: [...tokens.map((x) => x.logprobs), [Math.log(0.5) - 1]],
      loss: PPO,
    });
    expect(result.metrics['loss/clip_fraction']).toBe(0.5);
    expect(result.metrics['loss/clip_high_fraction']).toBe(0.25);
    expect(result.metrics['loss/tokens']).toBe(4);
    expect(result.metrics['loss/ratio_min']).toBeCloseTo(0.5, 12);
    expect(result.metrics['loss/ratio_max']).toBeCloseTo(1.5, 12);
    expect(result.metrics['loss/ratio_mean']).toBeCloseTo(1.125, 12);
  });

  it('averages over all tokens with token-mean and per sequence with sequence-mean', () => {
    // on-policy (ratio 1): loss_t = -A_t; sequence 0 has one token (A = 1), sequence 1 three (A = 0, 0, -1)
    const data: Datum[] = [
      { inputTokens: [1], targetTokens: [2], weights: [1], oldLogprobs: [-1], advantages: [1] },
      {
        inputTokens: [1, 2, 3, 4],
        targetTokens: [2, 3, 4, 5],
        weights: [1, 1, 0, 1],
        oldLogprobs: [-1, -2, 0, -3],
        advantages: [0, 0, 0, -1],
      },
    ];
    const logprobs_B_T = [[-1], [-1, -2, -7, -3]];
    expect(policyLoss({ data, logprobs_B_T, loss: PPO }).loss).toBeCloseTo((-1 + 0 + 0 + 1) / 4, 12);
    const perSequence = policyLoss({ data, logprobs_B_T, loss: { ...PPO, normalization: 'sequence-mean' } });
    expect(perSequence.loss).toBeCloseTo((-1 + 1 / 3) / 2, 12);
    expect(perSequence.gradient_B_T[0]).toEqual([-0.5]);
    expect(perSequence.gradient_B_T[1]![3]).toBeCloseTo(1 / 6, 12);
  });

  it('gives the plain policy gradient -A/N on the first (on-policy) step', () => {
    const { data } = randomBatch(new Random(3), false);
    const onPolicy = data.map((datum) => [...datum.oldLogprobs!]);
    const result = policyLoss({ data, logprobs_B_T: onPolicy, loss: PPO });
    const N = result.metrics['loss/tokens']!;
    data.forEach((datum, b) =>
      datum.weights.forEach((w, t) =>
        expect(result.gradient_B_T[b]![t]).toBeCloseTo(w ? -datum.advantages![t]! / N : 0, 14),
      ),
    );
    expect(result.metrics['loss/clip_fraction']).toBe(0);
    expect(result.metrics['loss/approx_kl']).toBe(0);
  });

  it('adds beta times the k3 KL to the reference', () => {
    const { datum, logprobs } = oneToken(1, 0);
    datum.refLogprobs = [logprobs[0]! - 1];
    const result = policyLoss({ data: [datum], logprobs_B_T: [logprobs], loss: { ...PPO, klBeta: 0.5 } });
    expect(result.loss).toBeCloseTo(0.5 * (Math.exp(-1) + 1 - 1), 12);
    expect(result.metrics['loss/kl_loss']).toBeCloseTo(0.5 * Math.exp(-1), 12);
    expect(result.metrics['loss/kl_ref']).toBeCloseTo(Math.exp(-1), 12);
  });

  it('reports the k3 approx KL between old and current policy and the mean entropy', () => {
    const first = oneToken(2, 1);
    const second = oneToken(0.5, 1);
    const result = policyLoss({
      data: [first.datum, second.datum],
      logprobs_B_T: [first.logprobs, second.logprobs],
      loss: { kind: 'importance_sampling', normalization: 'token-mean' },
      entropies_B_T: [[1.5], [0.5]],
    });
    expect(result.metrics['loss/approx_kl']).toBeCloseTo((2 - 1 - Math.log(2) + (0.5 - 1 - Math.log(0.5))) / 2, 12);
    expect(result.metrics['loss/entropy']).toBe(1);
    expect(result.loss).toBeCloseTo(-(2 + 0.5) / 2, 12);
  });

  it('computes the weighted mean negative log-likelihood for cross_entropy', () => {
    const datum: Datum = { inputTokens: [1, 2, 3], targetTokens: [2, 3, 4], weights: [0, 1, 1] };
    const result = policyLoss({ data: [datum], logprobs_B_T: [[-5, -1, -3]], loss: { kind: 'cross_entropy' } });
    expect(result.loss).toBe(2);
    expect(result.gradient_B_T).toEqual([[0, -0.5, -0.5]]);
  });

  it('gives zero loss and gradient when no token is trained', () => {
    const { datum, logprobs } = oneToken(1.3, 1);
    datum.weights = [0];
    const result = policyLoss({ data: [datum], logprobs_B_T: [logprobs], loss: PPO });
    expect(result.loss).toBe(0);
    expect(result.gradient_B_T).toEqual([[0]]);
  });

  it('rejects bad specs and inputs with errors that name the problem', () => {
    const { datum, logprobs } = oneToken(1, 1);
    expect(() => policyLoss({ data: [datum], logprobs_B_T: [logprobs], loss: { ...PPO, clipLow: 1.2 } })).toThrow(
      ConfigError,
    );
    expect(() => policyLoss({ data: [datum], logprobs_B_T: [logprobs], loss: { ...PPO, klBeta: -1 } })).toThrow(
      /klBeta/,
    );
    expect(() => policyLoss({ data: [datum], logprobs_B_T: [logprobs], loss: { ...PPO, klBeta: 0.1 } })).toThrow(
      /no refLogprobs/,
    );
    expect(() => policyLoss({ data: [datum], logprobs_B_T: [[-1, -2]], loss: PPO })).toThrow(ShapeError);
    expect(() => policyLoss({ data: [datum], logprobs_B_T: [], loss: PPO })).toThrow(ShapeError);
    const { advantages: _, ...withoutAdvantages } = datum;
    expect(() => policyLoss({ data: [withoutAdvantages], logprobs_B_T: [logprobs], loss: PPO })).toThrow(DataError);
    expect(() => policyLoss({ data: [datum], logprobs_B_T: [[Number.NaN]], loss: PPO })).toThrow(
      /expected a positive weight and finite values/,
    );
  });
});

describe('klK3', () => {
  it('is zero where the policies agree and positive elsewhere', () => {
    expect(klK3(-1.3, -1.3)).toBe(0);
    expect(klK3(-1, -2)).toBeCloseTo(Math.exp(-1), 12);
    expect(klK3(-2, -1)).toBeCloseTo(Math.E - 2, 12);
  });
});
