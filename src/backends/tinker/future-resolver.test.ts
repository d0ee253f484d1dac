import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteError } from '../../errors.js';
import { ClientStats } from './client-stats.js';
import { resolveFuture } from './future-resolver.js';
import { TinkerTransport } from './transport.js';

/**
 * A stub server answering each request with the next scripted [status, body] (the last one repeats);
 * status 0 never answers (a long poll held past the client's timeout).
 */
async function stub(
  script: [number, unknown][],
): Promise<{ url: string; server: Server; seen: { path: string; body: any }[] }> {
  const seen: { path: string; body: any }[] = [];
  let index = 0;
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (part) => (text += part));
    request.on('end', () => {
      seen.push({ path: request.url ?? '', body: text ? JSON.parse(text) : null });
      const [status, body] = script[Math.min(index++, script.length - 1)]!;
      if (status === 0) return;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen };
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

const fast = { initialBackoffMs: 1, maxBackoffMs: 5 };
const transportFor = (url: string) =>
  new TinkerTransport({ baseUrl: url, retry: { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 5 } });
const newStats = (): ClientStats => new ClientStats();

describe('resolveFuture', () => {
  it('polls through try_again, 408, 429 and 5xx until the result arrives', async () => {
    const { url, seen } = await stub([
      [200, { type: 'try_again', request_id: 'r1', queue_state: 'active' }],
      [408, { detail: 'timeout' }],
      [429, { detail: 'slow down' }],
      [503, { detail: 'busy' }],
      [200, { metrics: { 'loss:sum': 1 } }],
    ]);
    const stats = newStats();
    const result = await resolveFuture<{ metrics: Record<string, number> }>(transportFor(url), 'r1', fast, stats);
    expect(result.metrics['loss:sum']).toBe(1);
    expect(stats.polls).toBe(5);
    expect(
      seen.every(
        (request) =>
          request.path === '/api/v1/retrieve_future' &&
          request.body.request_id === 'r1' &&
          request.body.allow_metadata_only === false,
      ),
    ).toBe(true);
  });

  it('resubmits the original request on 410 and polls the new future', async () => {
    const { url, seen } = await stub([
      [410, { detail: 'expired' }],
      [200, { sampling_session_id: 's' }],
    ]);
    const stats = newStats();
    const result = await resolveFuture<{ sampling_session_id: string }>(
      transportFor(url),
      'old',
      { ...fast, resubmit: async () => 'new' },
      stats,
    );
    expect(result.sampling_session_id).toBe('s');
    expect(stats.resubmits).toBe(1);
    expect(seen.map((request) => request.body.request_id)).toEqual(['old', 'new']);
  });

  it('throws the server message of a failed future ({error, category})', async () => {
    const { url } = await stub([[200, { error: 'token 5 out of range', category: 'user' }]]);
    await expect(resolveFuture(transportFor(url), 'r', fast)).rejects.toThrow(/category user\): token 5 out of range/);
  });

  it('treats SkyRL 400 {detail} as the failure at once, and other servers after three tries', async () => {
    const skyrl = await stub([[400, { detail: 'bad loss' }]]);
    await expect(resolveFuture(transportFor(skyrl.url), 'r', { ...fast, failedFutureAs400: true })).rejects.toThrow(
      /bad loss/,
    );
    expect(skyrl.seen).toHaveLength(1);
    const hosted = await stub([[400, { detail: 'proxy hiccup' }]]);
    await expect(resolveFuture(transportFor(hosted.url), 'r', fast)).rejects.toThrow(/proxy hiccup/);
    expect(hosted.seen).toHaveLength(4);
  });

  it('keeps polling a future whose polls outlive the client timeout, far past the attempt budget', async () => {
    const held: [number, unknown][] = Array.from({ length: 12 }, () => [0, null]);
    const { url, seen } = await stub([
      ...held,
      [408, { detail: 'Timeout waiting for result' }],
      [200, { path: 'tinker://m/weights/a' }],
    ]);
    const stats = newStats();
    const result = await resolveFuture<{ path: string }>(transportFor(url), 'r', { ...fast, pollTimeoutMs: 25 }, stats);
    expect(result.path).toBe('tinker://m/weights/a');
    // Every poll but the last came back without a result (on a loaded machine a quick answer can
    // time out too, so more polls may be needed); none used up a retry.
    expect(seen.length).toBeGreaterThanOrEqual(14);
    expect(stats.polls).toBe(seen.length);
    expect(stats.pollWaits).toBe(seen.length - 1);
    expect(stats.retries).toBe(0);
  });

  it('treats a failure payload of any shape as the request failing, with the server message', async () => {
    const shapes: [unknown, RegExp][] = [
      [{ error: 'no category given' }, /failed on the server: no category given/],
      [{ error: 'out of memory', category: 'server' }, /\(category server\): out of memory/],
      [{ status: 'failed', message: 'worker lost' }, /worker lost/],
      [{ status: 'FAILED', detail: 'loss diverged' }, /loss diverged/],
      [{ error: { message: 'nested message', code: 7 } }, /nested message/],
      [{ type: 'error', reason: 'preempted' }, /preempted/],
      [{ status: 'failed' }, /without a message: \{"status":"failed"\}/],
    ];
    for (const [body, message] of shapes) {
      const { url } = await stub([[200, body]]);
      await expect(resolveFuture(transportFor(url), 'r', fast), JSON.stringify(body)).rejects.toThrow(message);
    }
    const { url } = await stub([[200, { error: null, status: 'ok', path: 'p' }]]);
    expect(await resolveFuture(transportFor(url), 'r', fast)).toEqual({ error: null, status: 'ok', path: 'p' });
  });

  it('waits out HTTP 402 (a paused account) with a logged message and resumes', async () => {
    const { url } = await stub([
      [402, { detail: 'billing: balance exhausted' }],
      [402, { detail: 'billing: balance exhausted' }],
      [402, { detail: 'billing: balance exhausted' }],
      [200, { metrics: {} }],
    ]);
    const messages: string[] = [];
    const transport = new TinkerTransport({ baseUrl: url, pauseRetryMs: 2, log: (message) => messages.push(message) });
    expect(await resolveFuture(transport, 'r', fast)).toEqual({ metrics: {} });
    expect(transport.stats.pausedMs).toBe(6);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(/paused this run \(HTTP 402: billing: balance exhausted\)/);
    expect(messages[1]).toMatch(/resumed this run/);
  });

  it('gives up on a future at its deadline with what it last saw', async () => {
    const { url } = await stub([[200, { type: 'try_again', request_id: 'r', queue_state: 'paused_capacity' }]]);
    await expect(
      resolveFuture(transportFor(url), 'r', { ...fast, deadlineMs: 30, what: 'optim_step seq_id 4' }),
    ).rejects.toThrow(
      new RegExp(
        /optim_step seq_id 4 \(future r\) did not finish within its deadline of 0 s /.source +
          /\(\d+ polls; last answer: try_again \(queue_state paused_capacity\)\)/.source,
      ),
    );
  });

  it('fails at once on 404 (unknown future)', async () => {
    const { url } = await stub([[404, { detail: 'unknown request_id' }]]);
    const error = await resolveFuture(transportFor(url), 'r', fast).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).status).toBe(404);
  });
});

describe('TinkerTransport', () => {
  it('does not retry a 400 and reports the detail', async () => {
    const { url, seen } = await stub([[400, { detail: 'max_tokens is required' }]]);
    await expect(transportFor(url).postOk('/api/v1/asample', {})).rejects.toThrow(/HTTP 400: max_tokens is required/);
    expect(seen).toHaveLength(1);
  });

  it('retries 5xx with the same idempotency key and gives up after the attempt limit', async () => {
    const keys: string[] = [];
    const server = createServer((request, response) => {
      keys.push(String(request.headers['x-idempotency-key']));
      request.resume();
      response.writeHead(502).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await expect(transportFor(url).postOk('/api/v1/optim_step', {})).rejects.toThrow(
      /after 4 attempts; last error: HTTP 502/,
    );
    expect(keys).toHaveLength(4);
    expect(new Set(keys).size).toBe(1);
  });

  it('retries 408 and 429 without using up the attempt budget, honouring retry-after', async () => {
    const { url, seen } = await stub([
      [408, {}],
      [429, { detail: 'slow down' }],
      [408, {}],
      [429, {}],
      [503, {}],
      [408, {}],
      [200, { request_id: 'r9' }],
    ]);
    const transport = new TinkerTransport({
      baseUrl: url,
      retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
    });
    expect(await transport.postOk('/api/v1/optim_step', {})).toEqual({ request_id: 'r9' });
    expect(seen).toHaveLength(7);
    expect(transport.stats.retries).toBe(6);
    expect(transport.retries).toEqual({ '408': 3, '429': 2, '5xx': 1 });
  });

  it('waits out 402 on a submit and fails with a one-line message once the deadline would pass', async () => {
    const paused = await stub([
      [402, { detail: 'payment required' }],
      [200, { request_id: 'r1' }],
    ]);
    const transport = new TinkerTransport({ baseUrl: paused.url, pauseRetryMs: 1, log: () => undefined });
    expect(await transport.postOk('/api/v1/asample', {})).toEqual({ request_id: 'r1' });
    expect(transport.stats.pausedMs).toBe(1);
    const stuck = await stub([[402, { detail: 'payment required' }]]);
    const short = new TinkerTransport({
      baseUrl: stuck.url,
      pauseRetryMs: 1_000,
      deadlineMs: 10,
      log: () => undefined,
    });
    const error = await short.postOk('/api/v1/asample', {}).catch((caught: unknown) => caught as RemoteError);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).status).toBe(402);
    expect((error as RemoteError).message).toMatch(
      /answered HTTP 402 \(paused: payment required\).*deadline has passed/,
    );
  });

  it('retries connection errors, then names the endpoint it could not reach', async () => {
    const transport = transportFor('http://127.0.0.1:9');
    await expect(transport.postOk('/api/v1/create_session', {})).rejects.toThrow(
      /127\.0\.0\.1:9\/api\/v1\/create_session failed after 4 attempts/,
    );
    // Four attempts: the first and three retries.
    expect(transport.retries.connection).toBe(3);
  });
});
