import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFaultSpec } from '../server/fault-injector.js';
import type { RequestRecord } from '../server/tinker-server.js';
import { connectTestClient, startTestServer, type TestServer } from '../../testing/serve-for-test.js';
import { BigramTestBackend } from '../../testing/bigram-test-backend.js';
import { TinkerSamplingPolicy } from './sampling-client.js';
import { TinkerBackend } from './tinker-backend.js';
import { resolveConfig } from '../../train/config-load.js';
import { readJsonLines, type StepMetrics } from '../../train/metrics-log.js';
import { runRl } from '../../train/rl-loop.js';
import { createToyTask } from '../../testing/toy-task.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setup(
  serverOptions: Parameters<typeof startTestServer>[0] = {},
  clientOptions: Parameters<typeof connectTestClient>[1] = {},
) {
  const log: RequestRecord[] = [];
  const test: TestServer = await startTestServer({ ...serverOptions, onRequest: (record) => log.push(record) });
  closers.push(() => test.close());
  const client: TinkerBackend = await connectTestClient(test.url, clientOptions);
  closers.push(() => client.close());
  return { test, client, log };
}

const adam = { learningRate: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClipNorm: 0 };
const datum = {
  inputTokens: [5, 6, 7],
  targetTokens: [6, 7, 8],
  weights: [0, 1, 1],
  oldLogprobs: [0, -4.6, -4.6],
  advantages: [0, 1, -0.5],
};
const params = { temperature: 1, topK: 0, topP: 1, maxTokens: 6, stop: [] };
const body = (record: RequestRecord) => record.body as Record<string, any>;

describe('TinkerBackend', () => {
  it(
    'numbers training requests from seq_id 1 and sampling requests from seq_id 0, ' + 'with the API key on every call',
    async () => {
      const { client, log } = await setup({ apiKey: 'tml-k' }, { apiKey: 'tml-k' });
      await client.forwardBackward(
        [datum],
        { kind: 'importance_sampling', normalization: 'token-mean' },
        { temperature: 1 },
      );
      await client.optimStep(adam);
      await client.policy().sample({ tokens: [5], params, seed: 1 });
      await client.policy().sample({ tokens: [5], params, seed: 2 });
      await client.optimStep(adam);
      await client.policy().sample({ tokens: [5], params, seed: 3 });
      const training = log.filter((record) =>
        ['/api/v1/forward_backward', '/api/v1/optim_step', '/api/v1/save_weights_for_sampler'].includes(record.path),
      );
      expect(training.map((record) => [record.path.slice(8), body(record).seq_id])).toEqual([
        ['forward_backward', 1],
        ['optim_step', 2],
        ['save_weights_for_sampler', 3],
        ['optim_step', 4],
        ['save_weights_for_sampler', 5],
      ]);
      expect(
        training
          .filter((record) => record.path.endsWith('sampler'))
          .map((record) => body(record).sampling_session_seq_id),
      ).toEqual([0, 1]);
      // Only the fields the SDK sends: forward_backward has no `type`, the other requests do.
      expect(training.map((record) => body(record).type)).toEqual([
        undefined,
        'optim_step',
        'save_weights_for_sampler',
        'optim_step',
        'save_weights_for_sampler',
      ]);
      const samples = log.filter((record) => record.path === '/api/v1/asample');
      expect(samples.map((record) => [body(record).sampling_session_id, body(record).seq_id])).toEqual([
        [body(samples[0]!).sampling_session_id, 0],
        [body(samples[0]!).sampling_session_id, 1],
        [body(samples[2]!).sampling_session_id, 0],
      ]);
      expect(body(samples[2]!).sampling_session_id).not.toBe(body(samples[0]!).sampling_session_id);
      expect(samples[0]!.headers['x-tinker-sampling-backpressure']).toBe('1');
      expect(log.every((record) => record.headers['x-api-key'] === 'tml-k')).toBe(true);
    },
  );

  it('sends a heartbeat for its session periodically', async () => {
    const { client, log } = await setup({}, { heartbeatIntervalMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const beats = log.filter((record) => record.path === '/api/v1/session_heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(body(beats[0]!).session_id).toBe(client.sessionId);
    expect(client.heartbeatFailures).toBe(0);
  });

  it('reuses the idempotency key when it resends a request whose answer was lost', async () => {
    const { client, log, test } = await setup({
      faults: { rateDropAfter: 0.5, seed: 5, paths: ['/api/v1/optim_step'] },
    });
    for (let step = 0; step < 4; step++) await client.optimStep(adam);
    expect(test.server.faults.injected.drop_after).toBeGreaterThan(0);
    const optim = log.filter((record) => record.path === '/api/v1/optim_step');
    const keysBySeq = new Map<number, Set<string>>();
    for (const record of optim) {
      const keys = keysBySeq.get(body(record).seq_id) ?? new Set<string>();
      keys.add(String(record.headers['x-idempotency-key']));
      keysBySeq.set(body(record).seq_id, keys);
    }
    expect(optim.length).toBeGreaterThan(4);
    expect([...keysBySeq.keys()]).toEqual([1, 2, 3, 4]);
    for (const keys of keysBySeq.values()) expect(keys.size).toBe(1);
    expect(test.server.host.version).toBe(4);
  });

  it('takes optim_step right after a chunked forward_backward, before its result (pipelined submission)', async () => {
    const { client, log, test } = await setup({ maxChunkDatums: 2 });
    expect(client.submitsInOrder).toBe(true);
    const forward = client.forwardBackward([datum, datum, datum], { kind: 'cross_entropy' }, { temperature: 1 });
    const optim = client.optimStep(adam);
    const [result] = await Promise.all([forward, optim]);
    expect(result.logprobs).toHaveLength(3);
    const training = log.filter((record) => ['/api/v1/forward_backward', '/api/v1/optim_step'].includes(record.path));
    expect(training.map((record) => [record.path.slice(8), body(record).seq_id])).toEqual([
      ['forward_backward', 1],
      ['forward_backward', 2],
      ['optim_step', 3],
    ]);
    // (Chunks submitted one await at a time would let the optim_step take seq_id 2, between them.)
    expect(test.server.host.version).toBe(1);
    const sequential = await connectTestClient(test.url, { pipelineSubmit: false });
    closers.push(() => sequential.close());
    expect(sequential.submitsInOrder).toBe(false);
  });

  it('trains with rl.maxStaleness 1 through turnwise serve step for step as the same backend in process', async () => {
    const configFor = (runDir: string) =>
      resolveConfig({
        name: 'toy-stale',
        runDir,
        seed: 5,
        rl: {
          steps: 5,
          groupSize: 4,
          questionsPerStep: 2,
          mu: 1,
          maxCompletionTokens: 20,
          concurrency: 8,
          maxStaleness: 1,
        },
        optim: { lr: 0.3, warmupSteps: 1, gradClip: 5 },
        checkpoint: { every: 0 },
        log: { trajectoriesEvery: 0 },
      });
    const localDir = mkdtempSync(join(tmpdir(), 'turnwise-stale-local-'));
    await runRl({
      config: configFor(localDir),
      backend: new BigramTestBackend({ seed: 1, coalescesConsecutiveSeeds: true }),
      task: createToyTask(),
      progress: null,
    });
    const { client } = await setup();
    const remoteDir = mkdtempSync(join(tmpdir(), 'turnwise-stale-remote-'));
    await runRl({ config: configFor(remoteDir), backend: client, task: createToyTask(), progress: null });
    const deterministic = (dir: string) =>
      readJsonLines<StepMetrics>(join(dir, 'metrics.jsonl')).map((row) =>
        Object.fromEntries(Object.entries(row).filter(([key]) => !/^(time|tinker)\//.test(key) && key !== 'elapsed')),
      );
    const remote = deterministic(remoteDir);
    expect(remote.map((row) => row['rl/staleness'])).toEqual([0, 1, 1, 1, 1]);
    expect(remote).toEqual(deterministic(localDir));
  });

  it('meets the injected latency on every call (the pipelining benchmark relies on it)', async () => {
    expect(parseFaultSpec('latency=200').latencyMs).toBe(200);
    const { client } = await setup({ faults: parseFaultSpec('latency=120') });
    const started = performance.now();
    await client.forward([datum], { temperature: 1 });
    // Submit and at least one poll, each answered 120 ms late.
    expect(performance.now() - started).toBeGreaterThanOrEqual(2 * 120 - 5);
  });

  it('splits a large forward_backward into consecutive seq_ids within the chunk limits', async () => {
    const { client, log } = await setup({ maxChunkDatums: 2 });
    const result = await client.forwardBackward(
      [datum, datum, datum, datum, datum],
      { kind: 'cross_entropy' },
      { temperature: 1 },
    );
    expect(result.logprobs).toHaveLength(5);
    const chunks = log.filter((record) => record.path === '/api/v1/forward_backward');
    expect(chunks.map((record) => [body(record).seq_id, body(record).forward_backward_input.data.length])).toEqual([
      [1, 2],
      [2, 2],
      [3, 1],
    ]);
  });

  it(
    'computes forward logprobs equal to the backend, ' +
      'exactly at any temperature through the extension and in chunks',
    async () => {
      const { client, test } = await setup({ maxChunkDatums: 2 });
      const data = [datum, { ...datum, inputTokens: [9, 10, 11] }, { ...datum, targetTokens: [12, 13, 14] }];
      expect(await client.forward(data, { temperature: 0.7 })).toEqual(
        await test.backend.forward(data, { temperature: 0.7 }),
      );
      const hosted = await connectTestClient(test.url, { server: 'hosted' });
      closers.push(() => hosted.close());
      expect(await hosted.forward(data, { temperature: 1 })).toEqual(
        await test.backend.forward(data, { temperature: 1 }),
      );
      await expect(hosted.forward(data, { temperature: 0.7 })).rejects.toThrow(/temperature 0.7/);
    },
  );

  it('folds token-mean normalisation into the advantages for a standard Tinker server', async () => {
    const { client, log } = await setup({}, { server: 'hosted' });
    await client.forwardBackward(
      [datum, { ...datum, weights: [1, 1, 1], advantages: [2, 2, 2], oldLogprobs: [-4.6, -4.6, -4.6] }],
      { kind: 'ppo', clipLow: 0.2, clipHigh: 0.3, klBeta: 0, normalization: 'token-mean' },
      { temperature: 1 },
    );
    const sent = body(log.find((record) => record.path === '/api/v1/forward_backward')!).forward_backward_input;
    expect(sent.turnwise).toBeUndefined();
    expect(sent.loss_fn_config.clip_low_threshold).toBeCloseTo(0.8, 12);
    expect(sent.loss_fn_config.clip_high_threshold).toBeCloseTo(1.3, 12);
    expect(sent.data[0].loss_fn_inputs.advantages.data).toEqual([0, 1 / 5, -0.5 / 5]);
    expect(sent.data[1].loss_fn_inputs.advantages.data).toEqual([2 / 5, 2 / 5, 2 / 5]);
  });

  it('refuses what a standard Tinker server cannot compute: another temperature, a KL term', async () => {
    const { client } = await setup({}, { server: 'hosted' });
    await expect(
      client.forwardBackward(
        [datum],
        { kind: 'importance_sampling', normalization: 'token-mean' },
        { temperature: 0.7 },
      ),
    ).rejects.toThrow(/temperature 0.7/);
    await expect(
      client.forwardBackward(
        [datum],
        { kind: 'ppo', clipLow: 0.2, clipHigh: 0.2, klBeta: 0.1, normalization: 'token-mean' },
        { temperature: 1 },
      ),
    ).rejects.toThrow(/klBeta is 0.1.*no KL term.*baseReference/);
  });

  it(
    'saves and loads checkpoints through tinker:// paths, ' + 'and reports a failed load with the server message',
    async () => {
      const { client, test } = await setup();
      const path = await client.save('first');
      expect(path).toBe(`tinker://${client.modelId}/weights/first`);
      const before = test.backend.weights_V_V.slice();
      await client.forwardBackward([datum], { kind: 'cross_entropy' }, { temperature: 1 });
      await client.optimStep(adam);
      expect(test.backend.weights_V_V).not.toEqual(before);
      await client.load(path, { optimizer: true });
      expect(test.backend.weights_V_V).toEqual(before);
      await expect(client.load('tinker://other/weights/none', { optimizer: false })).rejects.toThrow(
        /is not known to this server/,
      );
    },
  );

  it('cuts a sample at the first stop token id even when the server was sent stop strings', async () => {
    const { client, test } = await setup();
    const prompt = client.tokenizer.encode('ab');
    const free = await test.backend.sample({ tokens: prompt, params: { ...params, maxTokens: 40 }, seed: 11 });
    const stopId = free.tokens[2]!;
    const cut = free.tokens.indexOf(stopId) + 1;
    const result = await client.policy().sample({
      tokens: prompt,
      params: { ...params, maxTokens: 40, stop: ['zzz'], stopTokenIds: [stopId] },
      seed: 11,
    });
    expect(result).toEqual({
      tokens: free.tokens.slice(0, cut),
      logprobs: free.logprobs.slice(0, cut),
      finishReason: 'stop',
    });
  });
});

describe('TinkerBackend JWT mode', () => {
  it('exchanges the API key for a JWT when client/config asks for it, and sends the JWT afterwards', async () => {
    const payload = Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
    const jwt = `eyJhbGciOiJub25lIn0.${payload}.sig`;
    const seen: { path: string; key: string }[] = [];
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const path = request.url ?? '';
        seen.push({ path, key: String(request.headers['x-api-key']) });
        const bodies: Record<string, unknown> = {
          '/api/v1/client/config': { pjwt_auth_enabled: true },
          '/api/v1/auth/token': request.headers['x-api-key'] === 'tml-key' ? { jwt } : undefined,
          '/api/v1/create_session': { session_id: 's1', type: 'create_session' },
          '/api/v1/create_model': { model_id: 'm1', status: 'created', request_id: 'r0' },
          '/api/v1/retrieve_future': { model_id: 'm1', type: 'create_model' },
        };
        const body = bodies[path];
        response.writeHead(body === undefined ? 401 : 200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body ?? { detail: 'bad key' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const reference = new BigramTestBackend();
    const client = await TinkerBackend.connect({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: 'tml-key',
      baseModel: 'x',
      tokenizer: reference.tokenizer,
      renderer: reference.renderer,
      heartbeatIntervalMs: 60_000,
    });
    closers.push(() => client.close());
    expect(client.modelId).toBe('m1');
    expect(client.capabilities.server).toBe('skyrl');
    expect(seen.map((entry) => [entry.path, entry.key])).toEqual([
      ['/api/v1/client/config', 'tml-key'],
      ['/api/v1/auth/token', 'tml-key'],
      ['/api/v1/create_session', jwt],
      ['/api/v1/create_model', jwt],
      ['/api/v1/retrieve_future', jwt],
    ]);
  });
});

describe('TinkerSamplingPolicy.connect (a rollout process sharing a trainer)', () => {
  it('samples the live weights the trainer is updating', async () => {
    const { client, test } = await setup();
    const sampler = await TinkerSamplingPolicy.connect({
      baseUrl: test.url,
      baseModel: 'test/bigram',
      tokenizer: client.tokenizer,
      retry: { initialDelayMs: 2 },
    });
    closers.push(async () => sampler.close());
    const request = { tokens: [5, 6], params: { ...params, maxTokens: 8 }, seed: 4 };
    expect(await sampler.sample(request)).toEqual(await test.backend.sample(request));
    await client.forwardBackward([datum], { kind: 'cross_entropy' }, { temperature: 1 });
    await client.optimStep({ ...adam, learningRate: 0.5 });
    const after = await sampler.sample(request);
    expect(after).toEqual(await test.backend.sample(request));
    expect(after).not.toEqual(await new BigramTestBackend({ seed: 1 }).sample(request));
  });
});
