import { afterEach, describe, expect, it } from 'vitest';
import { BigramTestBackend } from '../../testing/bigram-test-backend.js';
import { runMtGrpoScenario, type ScenarioTrace } from '../../testing/mt-grpo-scenario.js';
import { connectTestClient, startTestServer, type TestServer } from '../../testing/serve-for-test.js';

let running: TestServer[] = [];
afterEach(async () => {
  await Promise.all(running.map((server) => server.close()));
  running = [];
});

async function remoteRun(
  serverOptions: Parameters<typeof startTestServer>[0],
  clientOptions: Parameters<typeof connectTestClient>[1] = {},
  scenario = {},
) {
  const test = await startTestServer(serverOptions);
  running.push(test);
  const client = await connectTestClient(test.url, clientOptions);
  const trace = await runMtGrpoScenario(client, scenario);
  await client.close();
  return { trace, weights: test.backend.weights_V_V, client, server: test.server };
}

async function localRun(scenario = {}): Promise<{ trace: ScenarioTrace; weights: Float64Array }> {
  const backend = new BigramTestBackend({ seed: 1 });
  return { trace: await runMtGrpoScenario(backend, scenario), weights: backend.weights_V_V };
}

describe('in-process vs client + server', () => {
  it('gives bit-identical samples, losses, logprobs and final weights through the turnwise extension', async () => {
    const local = await localRun({ temperature: 0.9, steps: 2 });
    const remote = await remoteRun({}, {}, { temperature: 0.9, steps: 2 });
    expect(remote.client.capabilities.turnwiseExtensions).toBe(true);
    expect(local.trace.losses.every(Number.isFinite) && local.trace.losses.some((loss) => loss !== 0)).toBe(true);
    expect(local.weights).not.toEqual(new BigramTestBackend({ seed: 1 }).weights_V_V);
    expect(remote.trace).toEqual(local.trace);
    expect(Buffer.from(remote.weights.buffer).equals(Buffer.from(local.weights.buffer))).toBe(true);
  });

  it('stays bit-identical when forward_backward is split into chunks and reassembled by the server', async () => {
    const local = await localRun({ steps: 2 });
    const remote = await remoteRun({ maxChunkDatums: 3, maxChunkBytes: 2000 }, {}, { steps: 2 });
    expect(remote.client.capabilities.maxChunkDatums).toBe(3);
    expect(remote.trace).toEqual(local.trace);
    expect(Buffer.from(remote.weights.buffer).equals(Buffer.from(local.weights.buffer))).toBe(true);
  });

  it('completes with the same result under injected delays, 408/410/429/503 and dropped connections', async () => {
    const local = await localRun();
    const remote = await remoteRun({
      faults: {
        delayFuturesMs: 5,
        rate408: 0.1,
        rate410: 0.1,
        rate429: 0.1,
        rate5xx: 0.1,
        rateDrop: 0.05,
        rateDropAfter: 0.05,
        retryAfterMs: 2,
        seed: 3,
      },
    });
    const injected = remote.server.faults.injected;
    for (const fault of ['408', '410', '429', '5xx', 'drop', 'drop_after'])
      expect(injected[fault] ?? 0, `fault ${fault}`).toBeGreaterThan(0);
    expect(remote.client.stats.resubmits).toBeGreaterThan(0);
    expect(remote.trace).toEqual(local.trace);
    expect(Buffer.from(remote.weights.buffer).equals(Buffer.from(local.weights.buffer))).toBe(true);
  });

  it(
    'matches to 1e-9 through the standard Tinker encoding ' + '(sums with normalisation folded into advantages)',
    async () => {
      const local = await localRun({ steps: 2 });
      const remote = await remoteRun({}, { server: 'hosted' }, { steps: 2 });
      expect(remote.client.capabilities.turnwiseExtensions).toBe(false);
      expect(remote.trace.sampledTokens).toEqual(local.trace.sampledTokens);
      remote.trace.losses.forEach((loss, i) => expect(loss).toBeCloseTo(local.trace.losses[i]!, 9));
      remote.weights.forEach((weight, i) => expect(Math.abs(weight - local.weights[i]!)).toBeLessThan(1e-9));
    },
  );
});
