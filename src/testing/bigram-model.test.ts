import { describe, expect, it } from 'vitest';
import { ShapeError } from '../errors.js';
import { Random } from '../random.js';
import type { Datum } from '../training-types.js';
import { BigramModel, drawToken } from './bigram-model.js';

const ADAM = { learningRate: 0.05, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, gradClipNorm: 1 };
const data: Datum[] = [{ inputTokens: [1, 2, 3, 1], targetTokens: [2, 3, 1, 0], weights: [1, 1, 1, 1] }];

describe('BigramModel', () => {
  it('accumulates the exact cross-entropy gradient at a temperature (finite differences)', () => {
    const model = new BigramModel(5, { seed: 1, initScale: 0.5 }, 'test');
    const loss = model.accumulate(data, { kind: 'cross_entropy' }, 0.7).loss;
    const index = 2 * 5 + 3;
    const h = 1e-6;
    const probe = new BigramModel(5, { seed: 1, initScale: 0.5 }, 'test');
    probe.weights_V_V[index]! += h;
    probe.weightsChanged();
    const bumped = probe.accumulate(data, { kind: 'cross_entropy' }, 0.7).loss;
    expect((bumped - loss) / h).toBeCloseTo(model.grad_V_V[index]!, 5);
  });

  it('restores a snapshot with or without its optimiser state', () => {
    const model = new BigramModel(5, { seed: 2, initScale: 0.5 }, 'test');
    model.accumulate(data, { kind: 'cross_entropy' }, 1);
    model.adamw(ADAM);
    const snapshot = model.snapshot();
    const step = (restored: BigramModel) => {
      restored.accumulate(data, { kind: 'cross_entropy' }, 1);
      restored.adamw(ADAM);
      return Array.from(restored.weights_V_V);
    };
    const continued = step(model);
    const withOptimizer = new BigramModel(5, { seed: 9, initScale: 0.5 }, 'test');
    withOptimizer.restore(snapshot, { optimizer: true });
    expect(step(withOptimizer)).toEqual(continued);
    const fresh = new BigramModel(5, { seed: 9, initScale: 0.5 }, 'test');
    fresh.restore(snapshot, { optimizer: false });
    expect(step(fresh)).not.toEqual(continued);
  });

  it('names the backend and the datum in shape errors', () => {
    const model = new BigramModel(5, { initScale: 0.5 }, 'my backend');
    expect(() => model.logprobs([{ inputTokens: [1, 2], targetTokens: [2], weights: [1, 1] }], 1)).toThrow(
      /my backend: datum 0 has 2 inputs, 1 targets/,
    );
    expect(() => model.logprobs([{ inputTokens: [7], targetTokens: [2], weights: [1] }], 1)).toThrow(ShapeError);
  });
});

describe('drawToken', () => {
  const row = Float64Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log));
  const draws = (topK: number, topP: number) => {
    const random = new Random(3);
    return new Set(Array.from({ length: 400 }, () => drawToken(row, topK, topP, random)));
  };

  it('keeps only the top-k tokens, the nucleus for top-p, and everything otherwise', () => {
    expect(draws(2, 1)).toEqual(new Set([0, 1]));
    expect(draws(0, 0.75)).toEqual(new Set([0, 1]));
    expect(draws(0, 1)).toEqual(new Set([0, 1, 2, 3]));
  });
});
