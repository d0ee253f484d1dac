import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteError } from '../../errors.js';
import { resolveFuture, type ResolverStats } from './future-resolver.js';
import { TinkerTransport } from './transport.js';

/** A stub server answering each request with the next scripted [status, body] (the last one repeats). */
async function stub(script: [number, unknown][]): Promise<{ url: string; server: Server; seen: { path: string; body: any }[] }> {
  const seen: { path: string; body: any }[] = [];
  let index = 0;
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (part) => (text += part));
    request.on('end', () => {
      seen.push({ path: request.url ?? '', body: text ? JSON.parse(text) : null });
      const [status, body] = script[Math.min(index++, script.length - 1)]!;
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
  for (const server of servers.splice(0)) server.close();
});

const fast = { initialBackoffMs: 1, maxBackoffMs: 5 };
const transportFor = (url: string) => new TinkerTransport({ baseUrl: url, retry: { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 5 } });
const newStats = (): ResolverStats => ({ polls: 0, tryAgain: 0, status: {}, resubmits: 0 });

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
    expect(seen.every((request) => request.path === '/api/v1/retrieve_future' && request.body.request_id === 'r1' && request.body.allow_metadata_only === false)).toBe(true);
  });

  it('resubmits the original request on 410 and polls the new future', async () => {
    const { url, seen } = await stub([
      [410, { detail: 'expired' }],
      [200, { sampling_session_id: 's' }],
    ]);
    const stats = newStats();
    const result = await resolveFuture<{ sampling_session_id: string }>(transportFor(url), 'old', { ...fast, resubmit: async () => 'new' }, stats);
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
    await expect(resolveFuture(transportFor(skyrl.url), 'r', { ...fast, failedFutureAs400: true })).rejects.toThrow(/bad loss/);
    expect(skyrl.seen).toHaveLength(1);
    const hosted = await stub([[400, { detail: 'proxy hiccup' }]]);
    await expect(resolveFuture(transportFor(hosted.url), 'r', fast)).rejects.toThrow(/proxy hiccup/);
    expect(hosted.seen).toHaveLength(4);
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
    await expect(transportFor(url).postOk('/api/v1/optim_step', {})).rejects.toThrow(/after 4 attempts; last error: HTTP 502/);
    expect(keys).toHaveLength(4);
    expect(new Set(keys).size).toBe(1);
  });

  it('retries connection errors, then names the endpoint it could not reach', async () => {
    const transport = transportFor('http://127.0.0.1:9');
    await expect(transport.postOk('/api/v1/create_session', {})).rejects.toThrow(/127\.0\.0\.1:9\/api\/v1\/create_session failed after 4 attempts/);
    expect(transport.retries.connection).toBe(4);
  });
});
