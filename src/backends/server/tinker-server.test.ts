import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../random.js';
import { modelInput } from '../tinker/wire-schema.js';
import { startTestServer, type TestServer } from '../../testing/serve-for-test.js';

let test: TestServer;
let keyed: TestServer;
beforeAll(async () => {
  test = await startTestServer({ maxBodyBytes: 200_000, seqGapTimeoutMs: 2_000 });
  keyed = await startTestServer({ apiKey: 'tml-secret' });
});
afterAll(async () => {
  await test.close();
  await keyed.close();
});

async function call(
  path: string,
  body?: unknown,
  init: RequestInit = {},
  base = test.url,
): Promise<{ status: number; body: any }> {
  const response = await fetch(base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function result(requestId: string): Promise<any> {
  for (;;) {
    const answer = await call('/api/v1/retrieve_future', { request_id: requestId });
    if (answer.status !== 200 || answer.body?.type !== 'try_again') return answer;
  }
}

async function newModel(): Promise<string> {
  const session = await call('/api/v1/create_session', { tags: [], sdk_version: 'test' });
  const created = await call('/api/v1/create_model', {
    session_id: session.body.session_id,
    base_model: 'test/bigram',
    model_seq_id: 0,
  });
  return (await result(created.body.request_id)).body.model_id;
}

const adam = { learning_rate: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weight_decay: 0, grad_clip_norm: 0 };
const datum = (tokens = [5, 6, 7, 8]) => ({
  model_input: modelInput(tokens.slice(0, -1)),
  loss_fn_inputs: {
    target_tokens: { data: tokens.slice(1), dtype: 'int64' },
    weights: { data: tokens.slice(1).map(() => 1), dtype: 'float32' },
  },
});

describe('the Tinker-protocol server', () => {
  it('answers health checks and capabilities', async () => {
    expect(await call('/api/v1/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    const capabilities = await call('/api/v1/get_server_capabilities');
    expect(capabilities.body.supported_models[0].model_name).toBe('test/bigram');
    const config = await call('/api/v1/client/config', { sdk_version: 'x' });
    expect(config.body).toMatchObject({ turnwise_extensions: true, fwdbwd_max_chunk_len: 1024 });
  });

  it('requires the configured API key as X-API-Key or Bearer, but not for health checks', async () => {
    expect((await call('/api/v1/healthz', undefined, {}, keyed.url)).status).toBe(200);
    const missing = await call('/api/v1/create_session', {}, {}, keyed.url);
    expect(missing.status).toBe(401);
    expect(missing.body.detail).toMatch(/X-API-Key/);
    expect((await call('/api/v1/create_session', {}, { headers: { 'x-api-key': 'wrong' } }, keyed.url)).status).toBe(
      401,
    );
    expect(
      (await call('/api/v1/create_session', {}, { headers: { 'x-api-key': 'tml-secret' } }, keyed.url)).status,
    ).toBe(200);
    expect(
      (await call('/api/v1/create_session', {}, { headers: { authorization: 'Bearer tml-secret' } }, keyed.url)).status,
    ).toBe(200);
  });

  it('rejects malformed requests with 4xx and a message naming the problem', async () => {
    const notJson = await call('/api/v1/create_session', '{"tags": [');
    expect(notJson.status).toBe(400);
    expect(notJson.body.detail).toMatch(/not valid JSON/);
    const model = await newModel();
    const noModel = await call('/api/v1/forward_backward', {
      forward_backward_input: { data: [datum()], loss_fn: 'cross_entropy' },
    });
    expect(noModel.status).toBe(400);
    expect(noModel.body.detail).toMatch(/model_id/);
    const badLoss = await call('/api/v1/forward_backward', {
      model_id: model,
      forward_backward_input: { data: [datum()], loss_fn: 'dro' },
    });
    expect(badLoss.body.detail).toMatch(/loss_fn "dro" is not supported/);
    const badConfig = await call('/api/v1/forward_backward', {
      model_id: model,
      forward_backward_input: { data: [datum()], loss_fn: 'ppo', loss_fn_config: { eps: 0.2 } },
    });
    expect(badConfig.body.detail).toMatch(/loss_fn_config keys eps/);
    const badToken = await call('/api/v1/forward_backward', {
      model_id: model,
      forward_backward_input: { data: [datum([5, 6, 999])], loss_fn: 'cross_entropy' },
    });
    expect(badToken.status).toBe(400);
    expect(badToken.body.detail).toMatch(/token id 999, outside the vocabulary/);
    const badLength = await call('/api/v1/forward_backward', {
      model_id: model,
      forward_backward_input: {
        data: [{ model_input: modelInput([5, 6]), loss_fn_inputs: { target_tokens: { data: [6] } } }],
        loss_fn: 'cross_entropy',
      },
    });
    expect(badLength.body.detail).toMatch(/target_tokens has 1 values, expected 2/);
    const noMaxTokens = await call('/api/v1/asample', {
      prompt: modelInput([5]),
      sampling_params: { temperature: 1 },
      base_model: 'test/bigram',
    });
    expect(noMaxTokens.body.detail).toMatch(/sampling_params.max_tokens/);
    expect((await call('/api/v1/nothing', {})).status).toBe(404);
    expect((await call('/api/v1/forward_backward')).status).toBe(405);
    const unknownFuture = await call('/api/v1/retrieve_future', { request_id: 'req-999999' });
    expect(unknownFuture.status).toBe(404);
  });

  it('answers random garbage on every route with 4xx, never 5xx, and keeps serving', async () => {
    const random = new Random(9);
    const routes = [
      'create_session',
      'session_heartbeat',
      'create_model',
      'forward_backward',
      'forward',
      'optim_step',
      'save_weights',
      'load_weights',
      'save_weights_for_sampler',
      'create_sampling_session',
      'asample',
      'retrieve_future',
      'get_info',
      'unload_model',
    ];
    const values = (): unknown => {
      const pick = random.int(9);
      if (pick === 0) return null;
      if (pick === 1) return random.normal() * 1e6;
      if (pick === 2) return 'x'.repeat(random.int(20));
      if (pick === 3) return [values(), values()];
      if (pick === 4) return { model_id: 'model-1', seq_id: random.int(5) - 1, data: [values()] };
      if (pick === 5) return { forward_backward_input: { data: [datum()], loss_fn: values() }, model_id: values() };
      if (pick === 6) return { prompt: values(), sampling_params: values(), base_model: 'test/bigram' };
      if (pick === 7) return { request_id: values(), session_id: values(), chunks: [{ type: 'image' }] };
      return true;
    };
    for (const route of routes) {
      for (let i = 0; i < 6; i++) {
        const body = i === 0 ? '{"unterminated' : i === 1 ? '\u0000\u00ff' : JSON.stringify(values());
        const answer = await fetch(`${test.url}/api/v1/${route}`, { method: 'POST', body });
        expect(answer.status, `${route} with ${body.slice(0, 80)}`).toBeLessThan(500);
        if (answer.status >= 400)
          expect(((await answer.json()) as { detail: string }).detail.length).toBeGreaterThan(0);
        else await answer.arrayBuffer();
      }
    }
    expect((await call('/api/v1/healthz')).status).toBe(200);
  });

  it('refuses an oversized body with 413 and keeps serving', async () => {
    const huge = JSON.stringify({ tags: ['x'.repeat(300_000)] });
    const answer = await call('/api/v1/create_session', huge);
    expect(answer.status).toBe(413);
    expect(answer.body.detail).toMatch(/limit of 200000 bytes/);
    expect((await call('/api/v1/healthz')).status).toBe(200);
  });

  it('executes training requests in seq_id order even when they arrive out of order', async () => {
    const model = await newModel();
    const second = await call('/api/v1/save_weights', { model_id: model, seq_id: 2, path: 'after' });
    const first = await call('/api/v1/optim_step', { model_id: model, seq_id: 1, adam_params: adam });
    expect((await result(first.body.request_id)).status).toBe(200);
    expect((await result(second.body.request_id)).body.path).toBe(`tinker://${model}/weights/after`);
    expect(test.server.host.version).toBeGreaterThan(0);
  });

  it('deduplicates a resent seq_id and refuses a reused one with a different payload (409)', async () => {
    const model = await newModel();
    const body = { model_id: model, seq_id: 1, forward_backward_input: { data: [datum()], loss_fn: 'cross_entropy' } };
    const first = await call('/api/v1/forward_backward', body);
    const again = await call('/api/v1/forward_backward', body);
    expect(again.body.request_id).toBe(first.body.request_id);
    const reused = await call('/api/v1/forward_backward', {
      ...body,
      forward_backward_input: { data: [datum([5, 6, 9])], loss_fn: 'cross_entropy' },
    });
    expect(reused.status).toBe(409);
    expect(reused.body.detail).toMatch(/sequence number was reused/);
    const output = (await result(first.body.request_id)).body;
    expect(output.loss_fn_outputs[0].logprobs.data).toHaveLength(3);
    expect(output.metrics['loss:sum']).toBeGreaterThan(0);
  });

  it('fails sampling from a sampler snapshot once the weights moved on, as a user error', async () => {
    const model = await newModel();
    const saved = await result(
      (await call('/api/v1/save_weights_for_sampler', { model_id: model, seq_id: 1, sampling_session_seq_id: 0 })).body
        .request_id,
    );
    const sampler = saved.body.sampling_session_id;
    const request = {
      prompt: modelInput([5, 6]),
      sampling_params: { max_tokens: 4, seed: 3 },
      sampling_session_id: sampler,
      num_samples: 2,
    };
    const fresh = await result((await call('/api/v1/asample', { ...request, seq_id: 0 })).body.request_id);
    expect(fresh.body.sequences).toHaveLength(2);
    expect(fresh.body.sequences[0].logprobs).toHaveLength(fresh.body.sequences[0].tokens.length);
    await result((await call('/api/v1/optim_step', { model_id: model, seq_id: 2, adam_params: adam })).body.request_id);
    const stale = await result((await call('/api/v1/asample', { ...request, seq_id: 1 })).body.request_id);
    expect(stale.status).toBe(200);
    expect(stale.body.category).toBe('user');
    expect(stale.body.error).toMatch(/call save_weights_for_sampler again/);
  });

  it('answers failed futures as HTTP 400 {detail} in SkyRL mode, and returns prompt logprobs', async () => {
    const skyrl = await startTestServer({ failedFutureAs400: true });
    try {
      const session = (await call('/api/v1/create_session', {}, {}, skyrl.url)).body.session_id;
      const sampler = (
        await call(
          '/api/v1/create_sampling_session',
          { session_id: session, sampling_session_seq_id: 0, base_model: 'test/bigram' },
          {},
          skyrl.url,
        )
      ).body.sampling_session_id;
      const submit = await call(
        '/api/v1/asample',
        {
          prompt: modelInput([5, 6, 7]),
          sampling_params: { max_tokens: 2 },
          sampling_session_id: sampler,
          seq_id: 0,
          prompt_logprobs: true,
        },
        {},
        skyrl.url,
      );
      let answer;
      do answer = await call('/api/v1/retrieve_future', { request_id: submit.body.request_id }, {}, skyrl.url);
      while (answer.body?.type === 'try_again');
      expect(answer.body.prompt_logprobs).toHaveLength(3);
      expect(answer.body.prompt_logprobs[0]).toBeNull();
      const created = await call(
        '/api/v1/create_model',
        { session_id: session, base_model: 'test/bigram' },
        {},
        skyrl.url,
      );
      const model = (await call('/api/v1/retrieve_future', { request_id: created.body.request_id }, {}, skyrl.url)).body
        .model_id;
      const load = await call(
        '/api/v1/load_weights',
        { model_id: model, seq_id: 1, path: 'tinker://nowhere/weights/x', optimizer: false },
        {},
        skyrl.url,
      );
      let failed;
      do failed = await call('/api/v1/retrieve_future', { request_id: load.body.request_id }, {}, skyrl.url);
      while (failed.body?.type === 'try_again');
      expect(failed.status).toBe(400);
      expect(failed.body.detail).toMatch(/checkpoint tinker:\/\/nowhere\/weights\/x is not known/);
    } finally {
      await skyrl.close();
    }
  });
});
