import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../errors.js';
import type { Tokenizer } from '../../rollout/tokenizer.js';
import { BigramTestBackend } from '../../testing/bigram-test-backend.js';
import { runMtGrpoScenario } from '../../testing/mt-grpo-scenario.js';
import { connectTestClient, startTestServer } from '../../testing/serve-for-test.js';
import { WorkerBackend } from './worker-backend.js';

const MODULE = fileURLToPath(new URL('../../testing/bigram-test-backend.ts', import.meta.url));
const local = new BigramTestBackend({ seed: 0 });
const create = (
  factoryOptions: unknown,
  exportName = 'createBigramTestBackend',
  tokenizer: Tokenizer = local.tokenizer,
) => WorkerBackend.create({ module: MODULE, exportName, factoryOptions, tokenizer, renderer: local.renderer });

let plain: WorkerBackend;
let busy: WorkerBackend;
beforeAll(async () => {
  [plain, busy] = await Promise.all([create({ seed: 1 }), create({ seed: 1, busyStepMs: 1500 })]);
});
afterAll(async () => {
  await Promise.all([plain.close(), busy.close()]);
});

describe('WorkerBackend', () => {
  it('gives the same trace as the backend in the main thread, and rethrows inner errors with their class', async () => {
    const inProcess = await runMtGrpoScenario(new BigramTestBackend({ seed: 1 }), { steps: 1 });
    expect(await runMtGrpoScenario(plain, { steps: 1 })).toEqual(inProcess);
    await expect(
      plain.forward([{ inputTokens: [500], targetTokens: [1], weights: [1] }], { temperature: 1 }),
    ).rejects.toBeInstanceOf(ShapeError);
  });

  it('streams each sampled token back before the result, with the top alternatives asked for', async () => {
    const request = {
      tokens: local.tokenizer.encode('hello'),
      params: { temperature: 1, topK: 0, topP: 1, maxTokens: 6, stop: [] },
      seed: 3,
      topLogprobs: 2,
    };
    const streamed: number[] = [];
    const result = await plain.policy().sample(request, (token) => streamed.push(token.token));
    expect(result).toEqual(await plain.policy().sample(request));
    expect(result.topLogprobs).toHaveLength(6);
    expect(streamed).toEqual(result.tokens);
  });

  it('refuses a factory name the module does not export, and a tokenizer of another vocabulary size', async () => {
    const tokenizer = {
      vocabSize: 7,
      eosTokenId: undefined,
      encode: () => [],
      decode: () => '',
      tokenId: () => undefined,
    };
    const [missing, mismatch] = await Promise.allSettled([
      create({}, 'noSuchFactory'),
      create({}, 'createBigramTestBackend', tokenizer),
    ]);
    expect(missing.status === 'rejected' && String(missing.reason)).toMatch(/noSuchFactory/);
    expect(mismatch.status === 'rejected' && mismatch.reason).toBeInstanceOf(ConfigError);
  });

  it('keeps the server answering health checks while a synchronous training step runs', async () => {
    const test = await startTestServer({ backend: busy });
    const client = await connectTestClient(test.url);
    try {
      const datum = { inputTokens: [5, 6, 7], targetTokens: [6, 7, 8], weights: [1, 1, 1] };
      let stepDone = false;
      const step = client
        .forwardBackward([datum], { kind: 'cross_entropy' }, { temperature: 1 })
        .then(() => (stepDone = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      let answeredDuringStep = 0;
      while (!stepDone && answeredDuringStep < 3) {
        const response = await fetch(`${test.url}/api/v1/healthz`);
        expect(response.status).toBe(200);
        if (!stepDone) answeredDuringStep++;
      }
      expect(answeredDuringStep).toBe(3);
      expect(stepDone).toBe(false);
      await step;
    } finally {
      await client.close();
      await test.close();
    }
  });
});
