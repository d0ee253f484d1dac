import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceKernels } from '../engine/kernels/reference/index.js';
import { policyLoss } from '../loss/policy-loss.js';
import { Random } from '../random.js';
import type { ChatRenderer } from '../rollout/chat-renderer.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import type { Datum, LossSpec } from '../training-types.js';
import { createLocalBackend } from './create-local-backend.js';
import { LocalBackend } from './local.js';

const V = 24;
const MODEL_CONFIG = {
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 24,
  vocab_size: V,
  max_position_embeddings: 64,
};
const TOKENIZER: Tokenizer = {
  vocabSize: V,
  eosTokenId: 0,
  encode: (text) => Array.from(text, (c) => c.charCodeAt(0) - 97),
  decode: (ids) => ids.map((id) => String.fromCharCode(97 + id)).join(''),
  tokenId: () => undefined,
};
const RENDERER: ChatRenderer = { renderPrompt: () => [1, 2], renderReply: () => [3], stopTokenIds: [0] };
const PPO: LossSpec = { kind: 'ppo', clipLow: 0.2, clipHigh: 0.2, klBeta: 0, normalization: 'token-mean' };
const ADAM = { learningRate: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClipNorm: 1 };

const directory = await mkdtemp(join(tmpdir(), 'turnwise-local-'));
afterAll(() => rm(directory, { recursive: true, force: true }));

async function backend(options: { maxTokensPerMicroBatch?: number } = {}): Promise<LocalBackend> {
  // A relative checkpoint directory, as a run under ./runs has.
  return createLocalBackend({
    modelConfig: MODEL_CONFIG,
    seed: 3,
    kernels: referenceKernels,
    tokenizer: TOKENIZER,
    renderer: RENDERER,
    checkpointDirectory: relative(process.cwd(), directory),
    ...options,
  });
}

function datums(count: number, seed: number): Datum[] {
  const random = new Random(seed);
  return Array.from({ length: count }, (_, i) => {
    const length = 4 + i * 3;
    const tokens = Array.from({ length: length + 1 }, () => random.int(V));
    const weights = tokens.slice(1).map((_, t) => (t >= 2 ? 1 : 0));
    return {
      inputTokens: tokens.slice(0, -1),
      targetTokens: tokens.slice(1),
      weights,
      oldLogprobs: weights.map((w) => (w ? -3 + random.normal() * 0.3 : 0)),
      advantages: weights.map((w) => (w ? random.normal() : 0)),
    };
  });
}

describe('LocalBackend', () => {
  it('returns the loss, gradient and metrics of the loss module on the engine logprobs', async () => {
    const local = await backend();
    const data = datums(3, 1);
    const logprobs = await local.forward(data, { temperature: 0.9 });
    const result = await local.forwardBackward(data, PPO, { temperature: 0.9 });
    const expected = policyLoss({ data, logprobs_B_T: logprobs, loss: PPO });
    expect(result.loss).toBeCloseTo(expected.loss, 10);
    expect(result.metrics['loss/clip_fraction']).toBeCloseTo(expected.metrics['loss/clip_fraction']!, 10);
    result.logprobs.forEach((row, b) => row.forEach((lp, t) => expect(lp).toBeCloseTo(logprobs[b]![t]!, 10)));
    expect(local.model.grads.some((g) => g !== 0)).toBe(true);
  });

  it.each<LossSpec>([PPO, { kind: 'importance_sampling', normalization: 'sequence-mean' }, { kind: 'cross_entropy' }])(
    'gives the same loss and gradient for $kind whether the datums fit one micro-batch or several',
    async (loss) => {
      const data = datums(4, 2);
      const whole = await backend();
      const split = await backend({ maxTokensPerMicroBatch: 14 });
      const a = await whole.forwardBackward(data, loss, { temperature: 1 });
      const b = await split.forwardBackward(data, loss, { temperature: 1 });
      expect(b.loss).toBeCloseTo(a.loss, 6);
      expect(b.metrics['loss/tokens']).toBe(a.metrics['loss/tokens']);
      for (const key of Object.keys(a.metrics)) expect(b.metrics[key], key).toBeCloseTo(a.metrics[key]!, 5);
      for (let i = 0; i < whole.model.grads.length; i++)
        expect(split.model.grads[i]).toBeCloseTo(whole.model.grads[i]!, 6);
      expect((await split.optimStep(ADAM))['optim/micro_batches']).toBeGreaterThan(1);
    },
  );

  it('lowers the cross-entropy of the training data over optimiser steps', async () => {
    const local = await backend();
    const data = datums(2, 5);
    const first = await local.forwardBackward(data, { kind: 'cross_entropy' }, { temperature: 1 });
    const metrics = await local.optimStep(ADAM);
    expect(metrics['optim/grad_norm']).toBeGreaterThan(0);
    expect(metrics['optim/step']).toBe(1);
    let last = first.loss;
    for (let step = 0; step < 20; step++) {
      last = (await local.forwardBackward(data, { kind: 'cross_entropy' }, { temperature: 1 })).loss;
      await local.optimStep(ADAM);
    }
    expect(last).toBeLessThan(first.loss * 0.5);
  });

  it('saves and loads weights and optimiser state', async () => {
    const local = await backend();
    const data = datums(2, 7);
    await local.forwardBackward(data, PPO, { temperature: 1 });
    await local.optimStep(ADAM);
    const path = await local.save('step-1');
    expect(isAbsolute(path)).toBe(true); // a run's latest.json must work from any working directory
    const before = await local.forward(data, { temperature: 1 });
    const other = await backend();
    await other.load(path, { optimizer: true });
    expect(await other.forward(data, { temperature: 1 })).toEqual(before);
    expect(other.optimizer.step).toBe(1);
    expect(Array.from(other.optimizer.v)).toEqual(Array.from(local.optimizer.v));
    await expect(local.save('../escape')).rejects.toThrow(/plain file name/);
  });

  it('samples with the current weights after an optimiser step', async () => {
    const local = await backend();
    const policy = local.policy();
    const request = {
      tokens: [1, 2, 3, 4],
      params: { temperature: 1, topK: 0, topP: 1, maxTokens: 6, stop: [] },
      seed: 1,
      sessionId: 's',
    };
    const before = await policy.sample(request);
    for (let i = 0; i < 5; i++) {
      await local.forwardBackward(
        [{ inputTokens: [1, 2, 3, 4, 5], targetTokens: [2, 3, 4, 5, 6], weights: [0, 0, 0, 1, 1] }],
        { kind: 'cross_entropy' },
        { temperature: 1 },
      );
      await local.optimStep({ ...ADAM, learningRate: 0.1 });
    }
    const after = await policy.sample(request);
    const fresh = new LocalBackend({
      model: local.model,
      tokenizer: TOKENIZER,
      renderer: RENDERER,
      checkpointDirectory: directory,
    });
    expect(after).toEqual(await fresh.policy().sample(request));
    expect(after.logprobs).not.toEqual(before.logprobs);
  });
});
