import { describe, expect, it } from 'vitest';
import { referenceKernels } from './kernels/reference/index.js';
import { parseModelConfig } from './model-config.js';
import { Transformer } from './transformer.js';
import { EnginePolicy } from './engine-policy.js';
import { forwardOnly } from './training.js';
import { loadKernels } from './kernels/index.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import type { SamplingParams } from '../rollout/policy.js';

const V = 40;
const CONFIG = parseModelConfig({
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 48,
  vocab_size: V,
  model_type: 'qwen2',
  max_position_embeddings: 128,
});

/** One character per id, starting at '0'. */
const CHAR_TOKENIZER: Tokenizer = {
  vocabSize: V,
  eosTokenId: undefined,
  encode: (text) => Array.from(text, (char) => char.charCodeAt(0) - 48),
  decode: (ids) => ids.map((id) => String.fromCharCode(48 + id)).join(''),
  tokenId: () => undefined,
};

function makePolicy(options: { slots?: number } = {}) {
  const model = new Transformer({ config: CONFIG, kernels: referenceKernels, seed: 11 });
  // Sharper distributions than the 0.02 init, so sequences differ visibly between seeds.
  for (let i = 0; i < model.params.length; i++) model.params[i] *= 8;
  for (const t of model.layout.tensors) if (t.shape.length === 1) model.params.fill(1, t.offset, t.offset + t.size);
  return {
    model,
    policy: new EnginePolicy({ model, tokenizer: CHAR_TOKENIZER, slots: options.slots ?? 8, maxSequenceLength: 128 }),
  };
}

const PARAMS: SamplingParams = { temperature: 0.7, topK: 0, topP: 1, maxTokens: 12, stop: [] };
const PROMPT = [1, 5, 9, 2, 7, 3, 8, 8, 4, 6, 1, 2];

describe('EnginePolicy', () => {
  it('reports logprobs that match the training forward on the same tokens (max diff < 1e-4)', async () => {
    const { model, policy } = makePolicy();
    const prompts = [PROMPT, PROMPT.slice(0, 5), [3, 3, 3]];
    const results = await Promise.all(prompts.map((tokens, i) => policy.sample({ tokens, params: PARAMS, seed: i })));
    const sequences = prompts.map((prompt, i) => {
      const all = [...prompt, ...results[i]!.tokens];
      return { inputTokens: all.slice(0, -1), targetTokens: all.slice(1) };
    });
    const { logprobs } = forwardOnly(model, sequences, { temperature: 0.7 });
    let worst = 0;
    prompts.forEach((prompt, i) => {
      expect(results[i]!.tokens).toHaveLength(12);
      results[i]!.logprobs.forEach(
        (lp, j) => (worst = Math.max(worst, Math.abs(lp - logprobs[i]![prompt.length - 1 + j]!))),
      );
    });
    expect(worst).toBeLessThan(1e-4);
  });

  it('matches the training forward with the loaded (native) kernels on a wider model', async () => {
    const config = parseModelConfig({
      hidden_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      intermediate_size: 352,
      vocab_size: 300,
      max_position_embeddings: 256,
    });
    const model = new Transformer({ config, kernels: loadKernels(), seed: 4 });
    for (let i = 0; i < model.params.length; i++) model.params[i] *= 5;
    for (const t of model.layout.tensors) if (t.shape.length === 1) model.params.fill(1, t.offset, t.offset + t.size);
    const tokenizer = { ...CHAR_TOKENIZER, vocabSize: 300 };
    const policy = new EnginePolicy({ model, tokenizer, slots: 16, maxSequenceLength: 256 });
    const prompts = Array.from({ length: 12 }, (_, i) =>
      Array.from({ length: 20 + 7 * i }, (_, t) => (t * 31 + i * 17) % 300),
    );
    const params = { ...PARAMS, temperature: 0.9, maxTokens: 40 };
    const results = await Promise.all(prompts.map((tokens, i) => policy.sample({ tokens, params, seed: i })));
    const sequences = prompts.map((prompt, i) => {
      const all = [...prompt, ...results[i]!.tokens];
      return { inputTokens: all.slice(0, -1), targetTokens: all.slice(1) };
    });
    const { logprobs } = forwardOnly(model, sequences, { temperature: 0.9 });
    let worst = 0;
    prompts.forEach((prompt, i) =>
      results[i]!.logprobs.forEach(
        (lp, j) => (worst = Math.max(worst, Math.abs(lp - logprobs[i]![prompt.length - 1 + j]!))),
      ),
    );
    expect(worst).toBeLessThan(1e-4);
  });

  it('draws the same tokens for a seed whether sampled alone or in a batch', async () => {
    const alone = await makePolicy().policy.sample({ tokens: PROMPT, params: PARAMS, seed: 42 });
    const { policy } = makePolicy();
    const batch = await Promise.all([
      policy.sample({ tokens: [4, 4], params: PARAMS, seed: 1 }),
      policy.sample({ tokens: PROMPT, params: PARAMS, seed: 42 }),
      policy.sample({ tokens: PROMPT.slice(3), params: { ...PARAMS, maxTokens: 3 }, seed: 2 }),
    ]);
    expect(batch[1]!.tokens).toEqual(alone.tokens);
    batch[1]!.logprobs.forEach((lp, i) => expect(lp).toBeCloseTo(alone.logprobs[i]!, 5));
    const other = await policy.sample({ tokens: PROMPT, params: PARAMS, seed: 43 });
    expect(other.tokens).not.toEqual(alone.tokens);
  });

  it(
    'draws bit-identical tokens and logprobs alone ' + 'and in a batch of mixed sampling parameters (native kernels)',
    async () => {
      const config = parseModelConfig({
        hidden_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        intermediate_size: 96,
        vocab_size: 300,
        max_position_embeddings: 128,
      });
      const makeNative = () => {
        const model = new Transformer({ config, kernels: loadKernels(), seed: 6 });
        for (let i = 0; i < model.params.length; i++) model.params[i] *= 6;
        return new EnginePolicy({
          model,
          tokenizer: { ...CHAR_TOKENIZER, vocabSize: 300 },
          slots: 8,
          maxSequenceLength: 128,
        });
      };
      const requests = [
        { tokens: [3, 1, 4, 1, 5], params: { ...PARAMS, maxTokens: 30 }, seed: 7 },
        { tokens: PROMPT, params: { ...PARAMS, temperature: 1, topK: 20, maxTokens: 25 }, seed: 8 },
        { tokens: PROMPT.slice(2), params: { ...PARAMS, topP: 0.8, maxTokens: 30 }, seed: 9 },
        { tokens: [7], params: { ...PARAMS, maxTokens: 30 }, seed: 10 },
      ];
      const batched = makeNative();
      const together = await Promise.all(requests.map((request) => batched.sample(request)));
      for (const [i, request] of requests.entries()) {
        const alone = await makeNative().sample(request);
        expect(together[i]!.tokens).toEqual(alone.tokens);
        expect(together[i]!.logprobs).toEqual(alone.logprobs);
      }
    },
  );

  it('computes the shared prompt of a group once and forks it', async () => {
    const { policy } = makePolicy();
    const group = await Promise.all(
      [0, 1, 2, 3].map((seed) => policy.sample({ tokens: PROMPT, params: { ...PARAMS, maxTokens: 5 }, seed })),
    );
    // Prompt once (12 rows) + each follower feeds its last prompt token (3) + 4 decode rows per rollout.
    expect(policy.stats.computedTokens).toBe(12 + 3 + 4 * 4);
    expect(policy.stats.reusedTokens).toBe(3 * 11);
    expect(new Set(group.map((r) => r.tokens.join(','))).size).toBeGreaterThan(1);
  });

  it('keeps a session cache across turns and prefills only the new tokens', async () => {
    const { policy } = makePolicy();
    const first = await policy.sample({ tokens: PROMPT, params: PARAMS, seed: 5, sessionId: 'rollout-1' });
    const before = policy.stats.computedTokens;
    const envReply = [7, 7, 1];
    const second = { tokens: [...PROMPT, ...first.tokens, ...envReply], params: PARAMS, seed: 6 };
    const turn2 = await policy.sample({ ...second, sessionId: 'rollout-1' });
    // The last sampled token and the reply are prefilled, then 11 decode rows.
    expect(policy.stats.computedTokens - before).toBe(1 + envReply.length + 11);
    const fresh = await makePolicy().policy.sample(second);
    expect(turn2.tokens).toEqual(fresh.tokens);
    turn2.logprobs.forEach((lp, i) => expect(lp).toBeCloseTo(fresh.logprobs[i]!, 5));
    policy.release('rollout-1');
  });

  it('recomputes a session from scratch after invalidateCache (weights changed)', async () => {
    const { model, policy } = makePolicy();
    const first = await policy.sample({ tokens: PROMPT, params: PARAMS, seed: 5, sessionId: 'r' });
    for (let i = 0; i < model.params.length; i++) model.params[i] *= 1.01;
    policy.invalidateCache();
    const before = policy.stats.computedTokens;
    const next = [...PROMPT, ...first.tokens, 2];
    const turn2 = await policy.sample({ tokens: next, params: PARAMS, seed: 6, sessionId: 'r' });
    expect(policy.stats.computedTokens - before).toBe(next.length + 11);
    const fresh = new EnginePolicy({ model, tokenizer: CHAR_TOKENIZER, slots: 2, maxSequenceLength: 128 });
    expect(turn2).toEqual(await fresh.sample({ tokens: next, params: PARAMS, seed: 6 }));
  });

  it('stops on a stop token id and on a stop string, keeping the stop tokens', async () => {
    const { policy } = makePolicy();
    const free = await policy.sample({ tokens: PROMPT, params: PARAMS, seed: 9 });
    expect(free.finishReason).toBe('length');
    const stopId = free.tokens[4]!;
    const byId = await policy.sample({ tokens: PROMPT, params: { ...PARAMS, stopTokenIds: [stopId] }, seed: 9 });
    expect(byId.finishReason).toBe('stop');
    expect(byId.tokens).toEqual(free.tokens.slice(0, free.tokens.indexOf(stopId) + 1));
    const stopText = CHAR_TOKENIZER.decode(free.tokens.slice(5, 7));
    const text = CHAR_TOKENIZER.decode(free.tokens);
    const byString = await policy.sample({ tokens: PROMPT, params: { ...PARAMS, stop: [stopText] }, seed: 9 });
    expect(byString.finishReason).toBe('stop');
    expect(byString.tokens).toEqual(free.tokens.slice(0, text.indexOf(stopText) + stopText.length));
  });

  it('samples greedily with topK 1', async () => {
    const { model, policy } = makePolicy();
    const result = await policy.sample({ tokens: PROMPT, params: { ...PARAMS, topK: 1, maxTokens: 4 }, seed: 3 });
    const all = [...PROMPT, ...result.tokens];
    const { logits } = model.forward({ B: 1, T: all.length - 1, inputIds: all.slice(0, -1), targets: all.slice(1) });
    for (let j = 0; j < 4; j++) {
      const row = logits.subarray((PROMPT.length - 1 + j) * V, (PROMPT.length + j) * V);
      expect(result.tokens[j]).toBe(row.indexOf(Math.max(...row)));
    }
  });

  it('reports the real top-N alternatives of every position under the temperature and streams each token', async () => {
    const { model, policy } = makePolicy();
    const streamed: number[] = [];
    const streamedTop: number[][] = [];
    const result = await policy.sample(
      { tokens: PROMPT, params: { ...PARAMS, maxTokens: 5 }, seed: 4, topLogprobs: 3 },
      (token) => {
        streamed.push(token.token);
        streamedTop.push(token.topLogprobs!.map((entry) => entry.token));
      },
    );
    expect(streamed).toEqual(result.tokens);
    expect(result.topLogprobs).toHaveLength(5);
    const all = [...PROMPT, ...result.tokens];
    const { logits } = model.forward({ B: 1, T: all.length - 1, inputIds: all.slice(0, -1), targets: all.slice(1) });
    for (let j = 0; j < 5; j++) {
      const row = Array.from(
        logits.subarray((PROMPT.length - 1 + j) * V, (PROMPT.length + j) * V),
        (logit) => logit / PARAMS.temperature,
      );
      const lse = Math.log(row.reduce((sum, value) => sum + Math.exp(value), 0));
      const expected = row
        .map((value, token) => ({ token, logprob: value - lse }))
        .sort((a, b) => b.logprob - a.logprob)
        .slice(0, 3);
      expect(result.topLogprobs![j]!.map((entry) => entry.token)).toEqual(expected.map((entry) => entry.token));
      result.topLogprobs![j]!.forEach((entry, n) => expect(entry.logprob).toBeCloseTo(expected[n]!.logprob, 4));
      expect(streamedTop[j]).toEqual(expected.map((entry) => entry.token));
      const drawn = result.topLogprobs![j]!.find((entry) => entry.token === result.tokens[j]);
      if (drawn) expect(drawn.logprob).toBeCloseTo(result.logprobs[j]!, 4);
    }
    const plain = await policy.sample({ tokens: PROMPT, params: { ...PARAMS, maxTokens: 5 }, seed: 4 });
    expect(plain.tokens).toEqual(result.tokens);
    expect(plain.topLogprobs).toBeUndefined();
  });

  it('serves more rollouts than slots and evicts idle sessions', async () => {
    const { policy } = makePolicy({ slots: 2 });
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map((seed) =>
        policy.sample({ tokens: [seed + 1, 2, 3], params: { ...PARAMS, maxTokens: 3 }, seed, sessionId: `s${seed}` }),
      ),
    );
    expect(results.every((r) => r.tokens.length === 3)).toBe(true);
  });

  it('fails only the request whose stop check throws and keeps serving the others', async () => {
    const { model } = makePolicy();
    const tokenizer: Tokenizer = {
      ...CHAR_TOKENIZER,
      decode: (ids) => {
        if (ids.includes(V - 1) || ids.length > 3) throw new Error('broken decode');
        return CHAR_TOKENIZER.decode(ids);
      },
    };
    const policy = new EnginePolicy({ model, tokenizer, slots: 4, maxSequenceLength: 128 });
    const [broken, fine] = await Promise.allSettled([
      policy.sample({ tokens: PROMPT, params: { ...PARAMS, stop: ['zz'] }, seed: 1 }),
      policy.sample({ tokens: PROMPT, params: PARAMS, seed: 2 }),
    ]);
    expect(broken.status).toBe('rejected');
    expect(fine.status).toBe('fulfilled');
    expect((await policy.sample({ tokens: PROMPT, params: PARAMS, seed: 2 })).tokens).toHaveLength(12);
  });

  it('rejects bad requests with a message naming the problem', async () => {
    const { policy } = makePolicy();
    await expect(policy.sample({ tokens: [], params: PARAMS, seed: 0 })).rejects.toThrow(/empty/);
    await expect(policy.sample({ tokens: [V + 3], params: PARAMS, seed: 0 })).rejects.toThrow(/outside \[0, 40\)/);
    await expect(policy.sample({ tokens: [1], params: { ...PARAMS, temperature: 0 }, seed: 0 })).rejects.toThrow(
      /temperature/,
    );
    await expect(policy.sample({ tokens: [1], params: { ...PARAMS, temperature: Infinity }, seed: 0 })).rejects.toThrow(
      /temperature must be a finite number > 0, got Infinity/,
    );
    await expect(policy.sample({ tokens: [1], params: { ...PARAMS, topK: 2.5 }, seed: 0 })).rejects.toThrow(
      /topK must be an integer/,
    );
    await expect(policy.sample({ tokens: new Array(129).fill(1), params: PARAMS, seed: 0 })).rejects.toThrow(
      /at most 128/,
    );
    await expect(policy.sample({ tokens: [1], params: PARAMS, seed: 0, topLogprobs: -1 })).rejects.toThrow(
      /topLogprobs must be a non-negative integer, got -1/,
    );
    expect((await policy.sample({ tokens: [1], params: { ...PARAMS, maxTokens: 0 }, seed: 0 })).tokens).toEqual([]);
  });
});
