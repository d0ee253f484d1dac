import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../errors.js';
import { BigramTestBackend } from '../test-support/bigram-test-backend.js';
import { runMtGrpoScenario } from '../test-support/mt-grpo-scenario.js';
import { connectTestClient, startTestServer, type TestServer } from '../test-support/serve-for-test.js';
import { WorkerBackend } from './worker-backend.js';

const MODULE = fileURLToPath(new URL('../test-support/bigram-test-backend.ts', import.meta.url));
const local = new BigramTestBackend({ seed: 0 });
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function workerBackend(factoryOptions: unknown): Promise<WorkerBackend> {
  const backend = await WorkerBackend.create({ module: MODULE, exportName: 'createBigramTestBackend', factoryOptions, tokenizer: local.tokenizer, renderer: local.renderer });
  closers.push(() => backend.close());
  return backend;
}

describe('WorkerBackend', () => {
  it('gives the same trace as the backend in the main thread', async () => {
    const inProcess = await runMtGrpoScenario(new BigramTestBackend({ seed: 1 }), { steps: 1 });
    const inWorker = await runMtGrpoScenario(await workerBackend({ seed: 1 }), { steps: 1 });
    expect(inWorker).toEqual(inProcess);
  });

  it('rethrows the inner backend errors with their class', async () => {
    const backend = await workerBackend({ seed: 1 });
    await expect(backend.forward([{ inputTokens: [500], targetTokens: [1], weights: [1] }], { temperature: 1 })).rejects.toBeInstanceOf(ShapeError);
  });

  it('refuses a factory name the module does not export', async () => {
    await expect(WorkerBackend.create({ module: MODULE, exportName: 'noSuchFactory', tokenizer: local.tokenizer, renderer: local.renderer })).rejects.toThrow(/noSuchFactory/);
  });

  it('refuses a tokenizer whose vocabulary does not match the backend', async () => {
    const tokenizer = { ...local.tokenizer, vocabSize: 7, encode: () => [], decode: () => '', tokenId: () => undefined, eosTokenId: undefined };
    await expect(WorkerBackend.create({ module: MODULE, exportName: 'createBigramTestBackend', tokenizer, renderer: local.renderer })).rejects.toBeInstanceOf(ConfigError);
  });

  it('keeps the server answering health checks while a synchronous training step runs', async () => {
    const backend = await workerBackend({ seed: 1, busyStepMs: 1500 });
    const test: TestServer = await startTestServer({ backend });
    closers.push(() => test.close());
    const client = await connectTestClient(test.url);
    closers.push(() => client.close());
    const datum = { inputTokens: [5, 6, 7], targetTokens: [6, 7, 8], weights: [1, 1, 1] };
    let stepDone = false;
    const step = client.forwardBackward([datum], { kind: 'cross_entropy' }, { temperature: 1 }).then(() => (stepDone = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    let answeredDuringStep = 0;
    while (!stepDone) {
      const response = await fetch(`${test.url}/api/v1/healthz`);
      expect(response.status).toBe(200);
      if (!stepDone) answeredDuringStep++;
      if (answeredDuringStep >= 3) break;
    }
    expect(answeredDuringStep).toBeGreaterThanOrEqual(3);
    expect(stepDone).toBe(false);
    await step;
  });
});
