import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../errors.js';
import type { Datum, LossSpec } from '../training-types.js';
import { BigramTestBackend } from './bigram-test-backend.js';

// Old and reference logprobs near log(1/259), the uniform logprob over the byte vocabulary.
const datum = (backend: BigramTestBackend): Datum => {
  const tokens = backend.tokenizer.encode('abcab');
  return {
    inputTokens: tokens.slice(0, -1),
    targetTokens: tokens.slice(1),
    weights: [0, 1, 1, 1],
    oldLogprobs: [0, -5.3, -5.7, -5.6],
    advantages: [0, 1.5, -0.7, 0.4],
    refLogprobs: [0, -5.5, -5.4, -5.55],
  };
};

const adam = { learningRate: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClipNorm: 1 };

describe('bigram test backend', () => {
  it('matches finite differences for the clipped PG loss with KL', async () => {
    const backend = new BigramTestBackend({ seed: 1, initScale: 0.3 });
    const loss: LossSpec = { kind: 'ppo', clipLow: 0.2, clipHigh: 0.2, klBeta: 0.1, normalization: 'token-mean' };
    const data = [datum(backend)];
    const base = (await backend.forwardBackward(data, loss, { temperature: 0.9 })).loss;
    const grad = Float64Array.from(backend.grad_V_V);
    const index = 'b'.charCodeAt(0) * backend.tokenizer.vocabSize + 'c'.charCodeAt(0);
    const h = 1e-6;
    backend.weights_V_V[index] += h;
    backend.weightsChanged();
    const bumped = (await backend.forwardBackward(data, loss, { temperature: 0.9 })).loss;
    expect((bumped - base) / h).toBeCloseTo(grad[index]!, 4);
  });

  it('samples the same tokens for the same seed and stops on a stop string', async () => {
    const backend = new BigramTestBackend({ seed: 2, initScale: 2 });
    const request = { tokens: [65], params: { temperature: 1, topK: 0, topP: 1, maxTokens: 50, stop: ['e'] }, seed: 3 };
    const a = await backend.policy().sample(request);
    const b = await backend.policy().sample(request);
    expect(a).toEqual(b);
    // Seed 3 reaches an `e` before 50 tokens: the sample ends on the token that brings it.
    expect(a.finishReason).toBe('stop');
    expect(backend.tokenizer.decode(a.tokens)).toContain('e');
    expect(backend.tokenizer.decode(a.tokens.slice(0, -1))).not.toContain('e');
    expect(a.logprobs.every((lp) => lp <= 0)).toBe(true);
  });

  it(
    'learns a sequence with cross-entropy ' + 'and restores weights and optimiser state from a checkpoint file',
    async () => {
      const backend = new BigramTestBackend({ seed: 3, checkpointDirectory: mkdtempSync(join(tmpdir(), 'bigram-')) });
      const tokens = backend.tokenizer.encode('hello world');
      const data: Datum[] = [
        { inputTokens: tokens.slice(0, -1), targetTokens: tokens.slice(1), weights: tokens.slice(1).map(() => 1) },
      ];
      const first = (await backend.forwardBackward(data, { kind: 'cross_entropy' }, { temperature: 1 })).loss;
      await backend.optimStep(adam);
      for (let i = 0; i < 20; i++) {
        await backend.forwardBackward(data, { kind: 'cross_entropy' }, { temperature: 1 });
        await backend.optimStep(adam);
      }
      const path = await backend.save('w');
      expect(path).toMatch(/w\.json$/);
      const later = (await backend.forwardBackward(data, { kind: 'cross_entropy' }, { temperature: 1 })).loss;
      expect(later).toBeLessThan(first / 2);
      await backend.optimStep(adam);
      const after = Float64Array.from(backend.weights_V_V);
      const restored = new BigramTestBackend({ seed: 99 });
      await restored.load(path, { optimizer: true });
      await restored.forwardBackward(data, { kind: 'cross_entropy' }, { temperature: 1 });
      await restored.optimStep(adam);
      expect([...restored.weights_V_V]).toEqual([...after]);
    },
  );

  it('keeps checkpoints in memory without a checkpoint directory, and names a checkpoint it cannot load', async () => {
    const backend = new BigramTestBackend({ seed: 4 });
    const before = Float64Array.from(backend.weights_V_V);
    const path = await backend.save('start');
    expect(path).toBe('memory://bigram/start');
    await backend.forwardBackward([datum(backend)], { kind: 'cross_entropy' }, { temperature: 1 });
    await backend.optimStep(adam);
    expect([...backend.weights_V_V]).not.toEqual([...before]);
    await backend.load(path, { optimizer: false });
    expect([...backend.weights_V_V]).toEqual([...before]);
    await expect(backend.load('memory://bigram/other', { optimizer: false })).rejects.toThrow(
      /no checkpoint "memory:\/\/bigram\/other"/,
    );
    const torn = join(mkdtempSync(join(tmpdir(), 'bigram-')), 'torn.json');
    writeFileSync(torn, '{"weights": [1, 2');
    await expect(backend.load(torn, { optimizer: false })).rejects.toBeInstanceOf(CheckpointError);
  });
});
