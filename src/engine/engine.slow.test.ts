// The engine at benchmark scale with the loaded (native) kernels: the S config learns a toy
// language with AdamW, and its sampler's logprobs still match the training forward after training.
import { describe, expect, it } from 'vitest';
import { loadKernels } from './kernels/index.js';
import { parseModelConfig } from './model-config.js';
import { Transformer } from './transformer.js';
import { AdamW } from './adamw.js';
import { crossEntropyGradient, forwardBackward, forwardOnly } from './training.js';
import { EnginePolicy } from './engine-policy.js';
import { Random } from '../random.js';
import type { Tokenizer } from '../rollout/tokenizer.js';

const CONFIG = parseModelConfig({
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 352,
  vocab_size: 256,
  max_position_embeddings: 512,
});
const TOKENIZER: Tokenizer = {
  vocabSize: 256,
  eosTokenId: undefined,
  encode: () => [],
  decode: (ids) => ids.join(','),
  tokenId: () => undefined,
};

/** Sequences of a toy language: an arithmetic progression mod 256 with a random start and step 1..4. */
function toySequences(count: number, length: number, random: Random) {
  return Array.from({ length: count }, () => {
    const start = random.int(256);
    const step = 1 + random.int(4);
    const tokens = Array.from({ length: length + 1 }, (_, t) => (start + step * t) % 256);
    return {
      inputTokens: tokens.slice(0, -1),
      targetTokens: tokens.slice(1),
      weights: tokens.slice(1).map((_, t) => (t < 2 ? 0 : 1)),
    };
  });
}

describe('the engine at the S scale', () => {
  it('learns a toy language and keeps sampling logprobs equal to the training forward', async () => {
    const model = new Transformer({ config: CONFIG, kernels: loadKernels(), seed: 1 });
    const optimizer = new AdamW(model);
    const random = new Random(2);
    const losses: number[] = [];
    for (let step = 0; step < 60; step++) {
      const data = toySequences(16, 64, random);
      const loss = crossEntropyGradient(data.map((d) => d.weights));
      const result = forwardBackward(model, data, loss.gradient, { temperature: 1 });
      losses.push(loss.loss(result.logprobs));
      optimizer.apply({ learningRate: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01, gradClipNorm: 1 });
    }
    expect(losses[0]).toBeGreaterThan(5);
    expect(losses.at(-1)!).toBeLessThan(1.5);

    const policy = new EnginePolicy({ model, tokenizer: TOKENIZER, slots: 32, maxSequenceLength: 256 });
    const prompts = toySequences(24, 12, random).map((d) => d.inputTokens);
    const params = { temperature: 0.7, topK: 0, topP: 1, maxTokens: 64, stop: [] };
    const results = await Promise.all(prompts.map((tokens, i) => policy.sample({ tokens, params, seed: i })));
    const sequences = prompts.map((prompt, i) => {
      const all = [...prompt, ...results[i]!.tokens];
      return { inputTokens: all.slice(0, -1), targetTokens: all.slice(1) };
    });
    const { logprobs } = forwardOnly(model, sequences, { temperature: 0.7 });
    let worst = 0;
    prompts.forEach((prompt, i) =>
      results[i]!.logprobs.forEach(
        (lp, j) => (worst = Math.max(worst, Math.abs(lp - logprobs[i]![prompt.length - 1 + j]!))),
      ),
    );
    expect(worst).toBeLessThan(1e-4);
    // The trained model continues the progression most of the time.
    let correct = 0;
    prompts.forEach((prompt, i) => {
      const step = (prompt[1]! - prompt[0]! + 256) % 256;
      if (results[i]!.tokens[0] === (prompt.at(-1)! + step) % 256) correct += 1;
    });
    expect(correct).toBeGreaterThan(prompts.length / 2);
  });
});
