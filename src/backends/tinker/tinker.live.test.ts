/**
 * Live smoke test against a real Tinker-protocol service (hosted Tinker or a SkyRL server). Runs
 * only when TINKER_BASE_URL and TINKER_API_KEY are set; TINKER_TOKENIZER_DIR must hold the base
 * model's tokenizer.json (+ tokenizer_config.json), TINKER_BASE_MODEL names it (default
 * Qwen/Qwen3-8B). It samples, takes one importance-sampling step with LoRA rank 8 and samples again.
 *
 *   TINKER_BASE_URL=... TINKER_API_KEY=tml-... TINKER_TOKENIZER_DIR=./qwen3-8b \
 *     npx vitest run src/backends/tinker/tinker.live.test.ts
 */
import { describe, expect, it } from 'vitest';
import { loadCheckpointChat } from '../create-local-backend.js';
import { TinkerBackend } from './tinker-backend.js';

const baseUrl = process.env.TINKER_BASE_URL;
const apiKey = process.env.TINKER_API_KEY;
const live = Boolean(baseUrl && apiKey);

describe.skipIf(!live)('live Tinker service', () => {
  it('samples, trains one LoRA step and samples the updated weights', { timeout: 900_000 }, async () => {
    const tokenizerDirectory = process.env.TINKER_TOKENIZER_DIR;
    if (!tokenizerDirectory) throw new Error('set TINKER_TOKENIZER_DIR to a folder with the base model tokenizer.json');
    const { tokenizer, renderer } = await loadCheckpointChat(tokenizerDirectory);
    const backend = await TinkerBackend.connect({
      baseUrl: baseUrl!,
      apiKey,
      baseModel: process.env.TINKER_BASE_MODEL ?? 'Qwen/Qwen3-8B',
      loraRank: 8,
      tokenizer,
      renderer,
    });
    try {
      const prompt = renderer.renderPrompt([{ role: 'user', content: 'Name one prime number. Answer in one word.' }]);
      const params = { temperature: 1, topK: 0, topP: 1, maxTokens: 16, stop: [], stopTokenIds: renderer.stopTokenIds };
      const first = await backend.policy().sample({ tokens: prompt, params, seed: 1 });
      expect(first.tokens.length).toBeGreaterThan(0);
      expect(first.logprobs.every((value) => Number.isFinite(value) && value <= 0)).toBe(true);
      const tokens = [...prompt, ...first.tokens];
      const weights = tokens.slice(1).map((_, t) => (t + 1 >= prompt.length ? 1 : 0));
      const oldLogprobs = tokens
        .slice(1)
        .map((_, t) => (t + 1 >= prompt.length ? first.logprobs[t + 1 - prompt.length]! : 0));
      const result = await backend.forwardBackward(
        [
          {
            inputTokens: tokens.slice(0, -1),
            targetTokens: tokens.slice(1),
            weights,
            oldLogprobs,
            advantages: weights.map((w) => w * 1),
          },
        ],
        { kind: 'importance_sampling', normalization: 'token-mean' },
        { temperature: 1 },
      );
      expect(result.logprobs[0]).toHaveLength(tokens.length - 1);
      expect(Number.isFinite(result.loss)).toBe(true);
      await backend.optimStep({
        learningRate: 1e-5,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        weightDecay: 0,
        gradClipNorm: 0,
      });
      const second = await backend.policy().sample({ tokens: prompt, params, seed: 2 });
      expect(second.tokens.length).toBeGreaterThan(0);
      console.log(
        `live Tinker (${backend.capabilities.server}): before "${tokenizer.decode(first.tokens)}", ` +
          `after "${tokenizer.decode(second.tokens)}", loss ${result.loss}`,
      );
    } finally {
      await backend.close();
    }
  });
});
