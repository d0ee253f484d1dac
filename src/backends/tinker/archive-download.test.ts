import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, RemoteError } from '../../errors.js';
import { downloadCheckpointArchive, parseTinkerPath } from './archive-download.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

/** A loopback server answering each request with `answer`; returns its URL and the requests it saw. */
async function serve(
  answer: (request: IncomingMessage, count: number) => { status: number; body: string | Buffer; headers?: object },
): Promise<{ url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    seen.push(request);
    const { status, body, headers } = answer(request, seen.length);
    response.writeHead(status, { ...headers });
    response.end(body);
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('downloadCheckpointArchive', () => {
  it('waits out 503s, follows a 200 {url} to another origin, and sends the key only to the service', async () => {
    const storage = await serve(() => ({ status: 200, body: Buffer.from([1, 2, 3]) }));
    const service = await serve((_, count) =>
      count < 3
        ? { status: 503, body: '{"detail":"building"}' }
        : { status: 200, body: JSON.stringify({ url: `${storage.url}/signed?x=1`, expires: '2030-01-01T00:00:00Z' }) },
    );
    const bytes = await downloadCheckpointArchive({
      baseUrl: service.url,
      apiKey: 'tml-key',
      tinkerPath: 'tinker://run-1/sampler_weights/final',
      retryDelayMs: 1,
    });
    expect([...bytes]).toEqual([1, 2, 3]);
    expect(service.seen.map((request) => request.url)).toEqual(
      Array(3).fill('/api/v1/training_runs/run-1/checkpoints/sampler_weights/final/archive'),
    );
    expect(service.seen[0]!.headers['x-api-key']).toBe('tml-key');
    expect(storage.seen[0]!.url).toBe('/signed?x=1');
    expect(storage.seen[0]!.headers['x-api-key']).toBeUndefined();
  });

  it("tries SkyRL's bare checkpoint name after a 404, and names a missing archive and bad paths", async () => {
    const service = await serve((request) =>
      request.url === '/api/v1/training_runs/r/checkpoints/c/archive'
        ? { status: 302, body: '', headers: { location: '/dl' } }
        : request.url === '/dl'
          ? { status: 200, body: 'tar' }
          : { status: 404, body: '{"detail":"Checkpoint not found"}' },
    );
    const bytes = await downloadCheckpointArchive({ baseUrl: service.url, tinkerPath: 'tinker://r/sampler_weights/c' });
    expect(Buffer.from(bytes).toString()).toBe('tar');
    const missing = downloadCheckpointArchive({ baseUrl: service.url, tinkerPath: 'tinker://r/sampler_weights/x' });
    await expect(missing).rejects.toThrow(RemoteError);
    await expect(
      downloadCheckpointArchive({ baseUrl: service.url, tinkerPath: 'tinker://r/sampler_weights/x' }),
    ).rejects.toThrow(/has no archive of tinker:\/\/r\/sampler_weights\/x \(404: Checkpoint not found\)/);
    expect(() => parseTinkerPath('tinker://r/other/x')).toThrow(ConfigError);
    expect(parseTinkerPath('tinker://r/weights/x')).toEqual({ run: 'r', kind: 'weights', name: 'x' });
  });
});
