import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Datum, LossSpec } from '../training-types.js';
import { TabularBackend } from './tabular-backend.js';

const datum = (backend: TabularBackend): Datum => {
  const tokens = backend.tokenizer.encode('abcab');
  return { inputTokens: tokens.slice(0, -1), targetTokens: tokens.slice(1), weights: [0, 1, 1, 1], oldLogprobs: [0, -4.6, -5, -4.9], advantages: [0, 1.5, -0.7, 0.4], refLogprobs: [0, -4.8, -4.7, -4.85] };
};

describe('tabular backend', () => {
  it('matches finite differences for the clipped PG loss with KL', async () => {
    const backend = new TabularBackend({ seed: 1, initScale: 0.3 });
    const loss: LossSpec = { kind: 'ppo', clipLow: 0.2, clipHigh: 0.2, klBeta: 0.1, normalization: 'token-mean' };
    const data = [datum(backend)];
    const base = (await backend.forwardBackward(data, loss, { temperature: 0.9 })).loss;
    const grad = Float64Array.from(backend.grad_V_V);
    const index = 'b'.charCodeAt(0) * 128 + 'c'.charCodeAt(0);
    const h = 1e-6;
    backend.weights_V_V[index] += h;
    backend.weightsChanged();
    const bumped = (await backend.forwardBackward(data, loss, { temperature: 0.9 })).loss;
    expect((bumped - base) / h).toBeCloseTo(grad[index]!, 4);
  });

  it('samples the same tokens for the same seed and stops on a stop string', async () => {
    const backend = new TabularBackend({ seed: 2, initScale: 2 });
    const request = { tokens: [65], params: { temperature: 1, topK: 0, topP: 1, maxTokens: 50, stop: ['e'] }, seed: 7 };
    const a = await backend.policy().sample(request);
    const b = await backend.policy().sample(request);
    expect(a).toEqual(b);
    if (a.finishReason === 'stop') expect(backend.tokenizer.decode(a.tokens).endsWith('e')).toBe(true);
    else expect(a.tokens).toHaveLength(50);
    expect(a.logprobs.every((lp) => lp <= 0)).toBe(true);
  });

  it('learns a sequence with cross-entropy and restores weights and optimiser state', async () => {
    const backend = new TabularBackend({ seed: 3 });
    const tokens = backend.tokenizer.encode('hello world');
    const data: Datum[] = [{ inputTokens: tokens.slice(0, -1), targetTokens: tokens.slice(1), weights: tokens.slice(1).map(() => 1) }];
    const adam = { learningRate: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClipNorm: 1 };
    const first = (await backend.forwardBackward(data, { kind: 'cross_entropy' }, { temperature: 1 })).loss;
    await backend.optimStep(adam);
    for (let i = 0; i < 20; i++) {
      await backend.forwardBackward(data, { kind: 'cross_entropy' }, { temperature: 1 });
      await backend.optimStep(adam);
    }
    backend.checkpointDirectory = mkdtempSync(join(tmpdir(), 'tab-'));
    const path = await backend.save('w');
    const later = (await backend.forwardBackward(data, { kind: 'cross_entropy' }, { temperature: 1 })).loss;
    expect(later).toBeLessThan(first / 2);
    await backend.optimStep(adam);
    const after = Float64Array.from(backend.weights_V_V);
    const restored = new TabularBackend({ seed: 99 });
    await restored.load(path, { optimizer: true });
    await restored.forwardBackward(data, { kind: 'cross_entropy' }, { temperature: 1 });
    await restored.optimStep(adam);
    expect([...restored.weights_V_V]).toEqual([...after]);
  });
});
