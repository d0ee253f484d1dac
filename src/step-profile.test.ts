import { afterEach, describe, expect, it } from 'vitest';
import { EnginePolicy } from './engine/engine-policy.js';
import { referenceKernels } from './engine/kernels/reference/index.js';
import { parseModelConfig } from './engine/model-config.js';
import { Transformer } from './engine/transformer.js';
import type { Tokenizer } from './rollout/tokenizer.js';
import { activeProfile, COUNTER, PHASE, profileDelta, startProfile, stopProfile } from './step-profile.js';

const V = 24;
const TOKENIZER: Tokenizer = {
  vocabSize: V,
  eosTokenId: undefined,
  encode: () => [],
  decode: (ids) => ids.join(' '),
  tokenId: () => undefined,
};

function makePolicy(): EnginePolicy {
  const config = parseModelConfig({
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    vocab_size: V,
    max_position_embeddings: 64,
  });
  const model = new Transformer({ config, kernels: referenceKernels, seed: 3 });
  return new EnginePolicy({ model, tokenizer: TOKENIZER, slots: 4, maxSequenceLength: 64 });
}

describe('step profile', () => {
  afterEach(() => {
    stopProfile();
  });

  it('is off by default and records nothing', async () => {
    expect(activeProfile()).toBeUndefined();
    const policy = makePolicy();
    await policy.sample({
      tokens: [1, 2, 3],
      params: { temperature: 1, topK: 0, topP: 1, maxTokens: 4, stop: [] },
      seed: 1,
    });
    expect(activeProfile()).toBeUndefined();
  });

  it("counts the sampler's rows and tokens as its own stats do, split into prefill and decode", async () => {
    const policy = makePolicy();
    const profile = startProfile();
    const params = { temperature: 1, topK: 0, topP: 1, maxTokens: 6, stop: [] };
    const results = await Promise.all([
      policy.sample({ tokens: [1, 2, 3, 4, 5], params, seed: 1 }),
      policy.sample({ tokens: [7, 8], params, seed: 2 }),
    ]);
    const totals = profile.totals();
    expect(totals.counts.sampledTokens).toBe(results.reduce((sum, result) => sum + result.tokens.length, 0));
    expect(totals.counts.prefillRows + totals.counts.decodeRows).toBe(policy.stats.computedTokens);
    expect(totals.counts.prefillRows).toBe(5 + 2);
    expect(totals.counts.decodeRows).toBe(2 * (6 - 1)); // the last drawn token is never fed
    expect(totals.counts.decoderSteps).toBe(policy.stats.steps);
    expect(totals.seconds.decode).toBeGreaterThan(0);
    expect(totals.seconds.prefill).toBeGreaterThan(0);
    expect(stopProfile()).toBe(profile);
    expect(activeProfile()).toBeUndefined();
  });

  it('records each round as the difference from the previous one', () => {
    const profile = startProfile();
    profile.addSeconds(PHASE.tool, 0.5);
    profile.count(COUNTER.toolCalls, 2);
    profile.beginRound();
    profile.endSampling();
    profile.endRound();
    profile.beginRound();
    profile.addSeconds(PHASE.tool, 0.25);
    profile.count(COUNTER.toolCalls, 1);
    const start = performance.now();
    while (performance.now() - start < 20); // busy: wall and CPU time pass
    profile.endSampling();
    profile.endRound();
    const [first, second] = profile.rounds;
    expect(first!.seconds.tool).toBe(0.5);
    expect(first!.counts.toolCalls).toBe(2);
    expect(second!.seconds.tool).toBe(0.25);
    expect(second!.counts.toolCalls).toBe(1);
    expect(second!.sampleSeconds).toBeGreaterThanOrEqual(0.02);
    expect(second!.wallSeconds).toBeGreaterThanOrEqual(second!.sampleSeconds);
    expect(second!.sampleCpuSeconds).toBeGreaterThan(0);
    expect(second!.cpuSeconds).toBeGreaterThanOrEqual(second!.sampleCpuSeconds);
    expect(profileDelta(profile.totals(), profile.totals()).seconds.tool).toBe(0);
  });
});
