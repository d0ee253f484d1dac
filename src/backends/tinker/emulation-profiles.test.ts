/**
 * The Tinker client against each emulation profile of `turnwise serve` on loopback (turnwise's own
 * protocol, SkyRL's, hosted Tinker's): long-held futures, billing pauses, stop handling, one request
 * per group, and each service's own answers. Holds are shortened by configuration; every assertion
 * counts requests, polls or tokens, never time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Random } from '../../random.js';
import { rolloutGroups } from '../../rollout/group-rollout.js';
import { createToyTask } from '../../testing/toy-task.js';
import { connectTestClient, startTestServer, type TestServer } from '../../testing/serve-for-test.js';
import type { RequestRecord, TinkerServerOptions } from '../server/tinker-server.js';
import type { EmulationProfile } from '../server/emulation.js';
import { modelInput } from './wire-schema.js';
import type { TinkerBackend, TinkerBackendOptions } from './tinker-backend.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Setup {
  test: TestServer;
  client: TinkerBackend;
  log: RequestRecord[];
  messages: string[];
}

async function setup(
  profile: EmulationProfile,
  server: Partial<TinkerServerOptions> = {},
  client: Partial<TinkerBackendOptions> = {},
): Promise<Setup> {
  const log: RequestRecord[] = [];
  const test = await startTestServer({
    emulate: profile,
    rateLimit: null,
    ...server,
    onRequest: (record) => log.push(record),
  });
  closers.push(() => test.close());
  const messages: string[] = [];
  const backend = await connectTestClient(test.url, {
    heartbeatIntervalMs: 60_000,
    pauseRetryMs: 1,
    log: (message) => messages.push(message),
    ...client,
  });
  closers.push(() => backend.close());
  return { test, client: backend, log, messages };
}

async function call(url: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const adam = { learningRate: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClipNorm: 0 };
const datum = {
  inputTokens: [5, 6, 7],
  targetTokens: [6, 7, 8],
  weights: [0, 1, 1],
  oldLogprobs: [0, -4.6, -4.6],
  advantages: [0, 1, -0.5],
};
const ppo = { kind: 'ppo', clipLow: 0.2, clipHigh: 0.2, klBeta: 0, normalization: 'token-mean' } as const;
const body = (record: RequestRecord) => record.body as Record<string, any>;

describe.each(['turnwise', 'skyrl', 'hosted'] as const)(
  'the Tinker client against turnwise serve --emulate %s',
  (profile) => {
    it(
      'detects the profile, waits for create_model, ' + 'and trains and samples with only the fields the SDK sends',
      async () => {
        const { client, log } = await setup(profile);
        expect(client.capabilities.server).toBe(profile);
        const result = await client.forwardBackward([datum], ppo, { temperature: 1 });
        expect(result.logprobs[0]).toHaveLength(3);
        const metrics = await client.optimStep(adam);
        const sample = await client
          .policy()
          .sample({ tokens: [5, 6], params: { temperature: 1, topK: 0, topP: 1, maxTokens: 5, stop: [] }, seed: 3 });
        expect(sample.tokens.length).toBeGreaterThan(0);
        const paths = log.map((record) => record.path);
        const created = paths.indexOf('/api/v1/create_model');
        expect(paths.indexOf('/api/v1/retrieve_future', created)).toBe(created + 1);
        const forwardBackward = log.find((record) => record.path === '/api/v1/forward_backward')!;
        expect(body(forwardBackward).type).toBeUndefined();
        expect(body(forwardBackward).forward_backward_input.turnwise === undefined).toBe(profile !== 'turnwise');
        expect(Object.keys(metrics)).toEqual(
          expect.arrayContaining([
            'tinker/retries',
            'tinker/poll_waits',
            'tinker/paused_seconds',
            'tinker/tokens_generated',
            'tinker/tokens_kept',
          ]),
        );
      },
    );

    it('resolves a future held past 10 poll timeouts without using up the retry budget', async () => {
      const { client, test } = await setup(
        profile,
        { longPollMs: 150, faults: { holdPolls: 11, paths: ['/api/v1/optim_step'] } },
        { pollTimeoutMs: 30, retry: { maxAttempts: 2, initialDelayMs: 2, maxDelayMs: 10 } },
      );
      await client.forwardBackward([datum], ppo, { temperature: 1 });
      const metrics = await client.optimStep(adam);
      expect(test.server.faults.injected.hold_polls).toBe(11);
      expect(metrics['tinker/poll_waits']).toBeGreaterThanOrEqual(11);
      expect(metrics['tinker/retries']).toBe(0);
      expect(test.server.host.version).toBe(1);
    });

    it(`keeps polling through ${profile === 'skyrl' ? '408' : 'try_again'} answers to held polls`, async () => {
      const { client, test } = await setup(
        profile,
        { longPollMs: 15, faults: { holdPolls: 12, paths: ['/api/v1/optim_step'] } },
        { retry: { maxAttempts: 2, initialDelayMs: 2, maxDelayMs: 10 } },
      );
      await client.optimStep(adam);
      expect(test.server.faults.injected.hold_polls).toBe(12);
      if (profile === 'skyrl') expect(client.stats.pollStatus['408']).toBeGreaterThanOrEqual(12);
      else expect(client.stats.tryAgain).toBeGreaterThanOrEqual(12);
      expect(client.stats.retries).toBe(0);
    });

    it('pauses on 402 with a logged message and resumes', async () => {
      const { client, test, messages } = await setup(profile);
      test.server.faults.pauseNext(3);
      await client.forwardBackward([datum], ppo, { temperature: 1 });
      const metrics = await client.optimStep(adam);
      expect(test.server.faults.injected['402']).toBe(3);
      expect(metrics['tinker/paused_seconds']).toBeCloseTo(0.003, 9);
      expect(messages).toHaveLength(2);
      expect(messages[0]).toMatch(/paused this run \(HTTP 402: payment required/);
      expect(messages[1]).toMatch(/resumed this run/);
      expect(test.server.host.version).toBe(1);
    });

    it('with string stops, the server generates no more tokens than the client keeps', async () => {
      const { client, test } = await setup(profile);
      const imEnd = client.tokenizer.tokenId('<|im_end|>')!;
      const params = {
        temperature: 1,
        topK: 0,
        topP: 1,
        maxTokens: 40,
        stop: ['</search>', '.'],
        stopTokenIds: [imEnd],
      };
      const prompt = client.renderer.renderPrompt([{ role: 'user', content: 'Say something.' }]);
      const seeds = [11, 23, 35, 47, 59, 71];
      for (const seed of seeds) {
        const sample = await client.policy().sample({ tokens: prompt, params, seed });
        expect(sample).toEqual(await test.backend.sample({ tokens: prompt, params, seed }));
      }
      const kept = client.stats.tokensKept;
      expect(kept).toBeLessThan(seeds.length * params.maxTokens);
      expect(test.server.host.samplingStats.generatedTokens).toBe(kept);
      expect(client.stats.tokensGenerated).toBe(kept);
    });

    it('samples a group of G that shares its first prompt as one request, with the in-process samples', async () => {
      const { client, test, log } = await setup(profile);
      const task = createToyTask(2);
      const rollout = (policy: Parameters<typeof rolloutGroups>[0]['policy']) =>
        rolloutGroups({
          policy,
          env: task.createEnv,
          renderer: client.renderer,
          rows: task.rows('train'),
          rowId: (row) => row.id,
          groupSize: 4,
          sampling: { temperature: 1, topK: 0, topP: 1, maxTokensPerTurn: 12 },
          tokenBudget: 30,
          random: new Random(9),
        });
      const remote = await rollout(client.policy());
      // The in-process policy with the seeds a coalescing sampler gets (consecutive on a group's first turn).
      const inProcess = test.backend.policy();
      const local = await rollout({
        tokenizer: inProcess.tokenizer,
        coalescesConsecutiveSeeds: true,
        sample: (request) => inProcess.sample(request),
      });
      const trace = (groups: typeof remote) =>
        groups.flatMap((group) => group.trajectories.map((t) => [t.tokens, t.logprobs, t.stopReason]));
      expect(trace(remote)).toEqual(trace(local));
      const samples = log.filter((record) => record.path === '/api/v1/asample').map(body);
      // Each group's first turn is one request for G = 4 sequences.
      expect(samples.filter((sent) => sent.num_samples === 4)).toHaveLength(2);
      expect(samples.filter((sent) => sent.num_samples !== 4 && sent.num_samples !== 1)).toHaveLength(0);
      const turns = remote.flatMap((group) => group.trajectories).reduce((sum, t) => sum + t.turns.length, 0);
      expect(test.server.host.samplingStats.sequences).toBe(turns);
      expect(test.server.host.samplingStats.requests).toBe(turns - 2 * 3);
    });
  },
);

describe('turnwise serve --emulate skyrl', () => {
  it(
    'answers the model id at once ' + 'and fails a bad base model through the future, which the client waits for',
    async () => {
      const test = await startTestServer({ emulate: 'skyrl' });
      closers.push(() => test.close());
      const session = (await call(test.url, '/api/v1/create_session', { tags: [], sdk_version: 'x' })).body.session_id;
      const created = await call(test.url, '/api/v1/create_model', {
        session_id: session,
        model_seq_id: 0,
        base_model: 'test/bigram',
        lora_config: { rank: 8 },
      });
      expect(created.body).toMatchObject({
        model_id: expect.stringMatching(/^model-/),
        status: 'created',
        request_id: expect.any(String),
      });
      await expect(connectTestClient(test.url, { baseModel: 'Qwen/Qwen3-8B' })).rejects.toThrow(
        new RegExp(
          /create_model \(future req-\d+\) failed on the server: /.source +
            /could not create model-\d+: base_model "Qwen\/Qwen3-8B" is not served here/.source,
        ),
      );
    },
  );

  it(
    'holds a poll, then answers 408; refuses mixed or bare-string stops, ' +
      'unknown loss config keys (422) and the turnwise extension',
    async () => {
      const { client, test } = await setup('skyrl', {
        longPollMs: 20,
        faults: { holdPolls: 1, paths: ['/api/v1/asample'] },
      });
      const config = await call(test.url, '/api/v1/client/config', { sdk_version: 'x' });
      expect(config.body).toEqual({ pjwt_auth_enabled: false });
      const session = (await call(test.url, '/api/v1/create_session', {})).body.session_id;
      const sampler = (
        await call(test.url, '/api/v1/create_sampling_session', {
          session_id: session,
          sampling_session_seq_id: 0,
          base_model: 'test/bigram',
        })
      ).body.sampling_session_id;
      const sample = (stop: unknown, seq_id: number) =>
        call(test.url, '/api/v1/asample', {
          prompt: modelInput([5, 6]),
          sampling_params: { max_tokens: 4, stop },
          sampling_session_id: sampler,
          seq_id,
          num_samples: 1,
        });
      const submitted = await sample([2], 0);
      expect(await call(test.url, '/api/v1/retrieve_future', { request_id: submitted.body.request_id })).toEqual({
        status: 408,
        body: { detail: 'Timeout waiting for result' },
      });
      expect((await call(test.url, '/api/v1/retrieve_future', { request_id: submitted.body.request_id })).status).toBe(
        200,
      );
      const mixed = await sample(['.', 2], 1);
      expect(mixed).toEqual({
        status: 400,
        body: { detail: 'stop must be either all integers (token IDs) or all strings, not mixed' },
      });
      expect((await sample('.', 2)).status).toBe(422);
      const fb = (input: Record<string, unknown>) =>
        call(test.url, '/api/v1/forward_backward', {
          model_id: client.modelId,
          seq_id: 99,
          forward_backward_input: {
            data: [{ model_input: modelInput([5, 6]), loss_fn_inputs: { target_tokens: { data: [6, 7] } } }],
            ...input,
          },
        });
      const badKey = await fb({ loss_fn: 'ppo', loss_fn_config: { clip_ratio: 0.2 } });
      expect(badKey.status).toBe(422);
      expect(badKey.body.detail).toMatch(/loss_fn_config keys clip_ratio are not valid for ppo/);
      const extension = await fb({
        loss_fn: 'cross_entropy',
        turnwise: { temperature: 1, chunk: { index: 0, count: 1 } },
      });
      expect(extension.status).toBe(400);
      expect(extension.body.detail).toMatch(/emulates skyrl, which has no turnwise extension/);
    },
  );

  it(
    'generates to max_tokens when only stop strings are sent (no end-of-sequence stop), ' + 'then cuts at the string',
    async () => {
      // Any lowercase letter stops: over the byte vocabulary, each 30-token sample almost surely holds one.
      const test = await startTestServer({ emulate: 'skyrl' });
      closers.push(() => test.close());
      const session = (await call(test.url, '/api/v1/create_session', {})).body.session_id;
      const sampler = (
        await call(test.url, '/api/v1/create_sampling_session', {
          session_id: session,
          sampling_session_seq_id: 0,
          base_model: 'test/bigram',
        })
      ).body.sampling_session_id;
      const submitted = await call(test.url, '/api/v1/asample', {
        prompt: modelInput([5, 6]),
        sampling_params: { max_tokens: 30, seed: 4, stop: ['<|im_end|>', ...'abcdefghijklmnopqrstuvwxyz'] },
        sampling_session_id: sampler,
        seq_id: 0,
        num_samples: 3,
      });
      let answer;
      do answer = await call(test.url, '/api/v1/retrieve_future', { request_id: submitted.body.request_id });
      while (answer.status === 408);
      const stats = test.server.host.samplingStats;
      expect(stats.generatedTokens).toBe(3 * 30);
      expect(stats.returnedTokens).toBe(
        answer.body.sequences.reduce((sum: number, sequence: { tokens: number[] }) => sum + sequence.tokens.length, 0),
      );
      expect(stats.returnedTokens).toBeLessThan(stats.generatedTokens);
    },
  );
});

describe('turnwise serve --emulate hosted', () => {
  it('rate-limits asample with 429 and retry-after, which the client waits out', async () => {
    const { client, test } = await setup(
      'hosted',
      { rateLimit: { requestsPerSecond: 8, burst: 1 } },
      { coalesceSamples: false },
    );
    const params = { temperature: 1, topK: 0, topP: 1, maxTokens: 6, stop: [] };
    const requests = [1, 5, 9, 13].map((seed) => ({ tokens: [5, 6], params, seed }));
    const results = await Promise.all(requests.map((request) => client.policy().sample(request)));
    for (const [index, request] of requests.entries())
      expect(results[index]).toEqual(await test.backend.sample(request));
    expect(test.server.counters.rateLimited).toBeGreaterThan(0);
    expect(client.stats.retriesByCause['429']).toBe(test.server.counters.rateLimited);
  });

  it(
    'advertises its chunk limits, refuses bigger requests, ' + 'and reports failures as 200 {error, category}',
    async () => {
      const { client, test, log } = await setup('hosted', { maxChunkDatums: 2 });
      expect(client.capabilities.maxChunkDatums).toBe(2);
      await client.forwardBackward([datum, datum, datum, datum, datum], ppo, { temperature: 1 });
      expect(
        log
          .filter((record) => record.path === '/api/v1/forward_backward')
          .map((record) => body(record).forward_backward_input.data.length),
      ).toEqual([2, 2, 1]);
      const wire = { model_input: modelInput([5, 6]), loss_fn_inputs: { target_tokens: { data: [6, 7] } } };
      const tooBig = await call(test.url, '/api/v1/forward_backward', {
        model_id: client.modelId,
        seq_id: 50,
        forward_backward_input: { data: [wire, wire, wire], loss_fn: 'cross_entropy' },
      });
      expect(tooBig.status).toBe(413);
      await expect(client.load('tinker://elsewhere/weights/none', { optimizer: false })).rejects.toThrow(
        /failed on the server \(category user\): checkpoint tinker:\/\/elsewhere\/weights\/none is not known/,
      );
    },
  );
});
