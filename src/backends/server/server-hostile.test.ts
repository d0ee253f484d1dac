/**
 * The hostile-input suite of `turnwise serve` (issue 15 item 5; src/hostile-input.test.ts points
 * here): every request is bounded before work starts, the key is checked before routing, and
 * `load_weights` cannot be used to probe the file system. Time bounds are checked by what the
 * server did (tokeniser calls, futures created), never by the wall clock.
 */
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { ConfigError } from '../../errors.js';
import { runCaptured } from '../../cli/run-captured.js';
import { BigramTestBackend } from '../../testing/bigram-test-backend.js';
import { startTestServer, type TestServer } from '../../testing/serve-for-test.js';
import { createTinkerServer } from './tinker-server.js';
import { resolveWeightsPath } from './weights-root.js';
import { WorkLimiter } from './work-limiter.js';

async function call(base: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function newModel(base: string, headers: Record<string, string> = {}): Promise<string> {
  const session = await call(base, '/api/v1/create_session', { tags: [] }, headers);
  const created = await call(
    base,
    '/api/v1/create_model',
    { session_id: session.body.session_id, model_seq_id: 0, base_model: 'test/bigram' },
    headers,
  );
  return (await call(base, '/api/v1/retrieve_future', { request_id: created.body.request_id }, headers)).body.model_id;
}

/** A zstd frame of `blocks` RLE blocks of 128 KiB zeros each: 4 bytes a block expand to 131072. */
function zstdBomb(blocks: number): Uint8Array {
  const header = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]; // magic; no content size; 2 MiB window
  const body: number[] = [];
  for (let block = 0; block < blocks; block++) {
    const value = (131_072 << 3) | (1 << 1) | (block === blocks - 1 ? 1 : 0); // size, RLE, last
    body.push(value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, 0x00);
  }
  return new Uint8Array([...header, ...body]);
}

let keyed: TestServer;
let open: TestServer;
let root: string;
beforeAll(async () => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'turnwise-weights-root-')));
  keyed = await startTestServer({ apiKey: 'tml-secret', weightsRoot: root });
  open = await startTestServer({ maxBodyBytes: 200_000, maxConcurrentPerKey: 1, seqGapTimeoutMs: 30_000 });
});
afterAll(async () => {
  await keyed.close();
  await open.close();
});

describe('hostile input: turnwise serve', () => {
  it('authenticates before routing: unknown routes and methods with a bad or missing key get 401', async () => {
    for (const headers of [{}, { 'x-api-key': 'wrong' }, { authorization: 'Bearer wrong' }] as Record<
      string,
      string
    >[]) {
      expect((await call(keyed.url, '/api/v1/no_such_route', {}, headers)).status).toBe(401);
      expect((await call(keyed.url, '/etc/passwd', undefined, headers)).status).toBe(401);
      expect((await call(keyed.url, '/api/v1/create_session', undefined, headers)).status).toBe(401);
    }
    const known = await call(keyed.url, '/api/v1/no_such_route', {}, { 'x-api-key': 'tml-secret' });
    expect(known.status).toBe(404);
    expect((await call(keyed.url, '/healthz')).status).toBe(200);
  });

  it('refuses an empty key: as the server key, from the command line, and as a header', async () => {
    for (const apiKey of ['', '  '])
      expect(() => createTinkerServer({ backend: new BigramTestBackend({ seed: 0 }), apiKey })).toThrow(ConfigError);
    const run = await runCaptured(['serve', '--test-backend', 'bigram', '--port', '0', '--api-key', '']);
    expect(run.code).not.toBe(0);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(/--api-key is empty \(""\); give a non-empty key/);
    expect(run.errors[0]).not.toMatch(/\n\s+at /);
    const zero = await runCaptured(['serve', '--test-backend', 'bigram', '--port', '0', '--max-prompt-bytes', '0']);
    expect(zero.errors).toHaveLength(1);
    expect(zero.errors[0]).toMatch(/--max-prompt-bytes must be at least 1, got "0"$/);
    for (const headers of [{ 'x-api-key': '' }, { authorization: 'Bearer ' }] as Record<string, string>[]) {
      const answer = await call(keyed.url, '/api/v1/create_session', {}, headers);
      expect(answer.status).toBe(401);
    }
  });

  it('accepts a JWT of auth/token in place of the key, and nothing forged', async () => {
    const { jwt } = (await call(keyed.url, '/api/v1/auth/token', {}, { 'x-api-key': 'tml-secret' })).body;
    expect((await call(keyed.url, '/api/v1/create_session', {}, { 'x-api-key': jwt })).status).toBe(200);
    const [header, payload] = jwt.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    expect((await call(keyed.url, '/api/v1/create_session', {}, { 'x-api-key': forged })).status).toBe(401);
  });

  it('warns loudly when listening beyond loopback without a key, and only then', async () => {
    const cases = [
      { apiKey: undefined, host: '0.0.0.0', warned: true },
      { apiKey: 'k', host: '0.0.0.0', warned: false },
      { apiKey: undefined, host: '127.0.0.1', warned: false },
    ];
    for (const { apiKey, host, warned } of cases) {
      const warn = vi.fn();
      const server = createTinkerServer({ backend: new BigramTestBackend({ seed: 0 }), apiKey, warn });
      await server.listen(0, host);
      await server.close();
      expect(warn.mock.calls.length).toBe(warned ? 1 : 0);
      if (warned) expect(warn.mock.calls[0]![0]).toMatch(/^WARNING: .*0\.0\.0\.0.*WITHOUT an API key/);
    }
  });

  it('loads weights only under the weights root, with one message for every refusal', async () => {
    const headers = { 'x-api-key': 'tml-secret' };
    const model = await newModel(keyed.url, headers);
    const outside = mkdtempSync(join(tmpdir(), 'turnwise-outside-'));
    writeFileSync(join(root, 'a-file'), 'x');
    mkdirSync(join(root, 'inside'), { recursive: true });
    symlinkSync(outside, join(root, 'escape'));
    const probes = [
      outside,
      '/etc',
      '/no/such/directory',
      join(root, 'missing'),
      join(root, 'a-file'),
      join(root, 'a-file', 'below'),
      join(root, 'escape'),
      '../../../../etc',
      '',
    ];
    const details = new Set<string>();
    for (const [index, path] of probes.entries()) {
      const answer = await call(
        keyed.url,
        '/api/v1/load_weights',
        { model_id: model, seq_id: index + 1, path },
        headers,
      );
      expect(answer.status).toBe(400);
      details.add(answer.body.detail.replace(JSON.stringify(path), 'PATH'));
    }
    expect([...details]).toEqual([
      "load_weights path PATH is not a checkpoint directory under this server's weights root; " +
        'load a tinker:// path that save_weights returned, or a directory under --weights-root',
    ]);
    // Without a root, no backend path at all.
    const model2 = await newModel(open.url);
    expect((await call(open.url, '/api/v1/load_weights', { model_id: model2, seq_id: 1, path: root })).status).toBe(
      400,
    );
    expect(await resolveWeightsPath('inside', root)).toBe(join(root, 'inside'));
    expect(await resolveWeightsPath(join(root, 'inside'), root)).toBe(join(root, 'inside'));
  });

  it('bounds prompt bytes before tokenising: an 8 MB prompt costs no tokeniser call and /healthz answers', async () => {
    const server = await startTestServer({});
    try {
      const encode = vi.spyOn(server.backend.tokenizer, 'encode');
      const huge = 'a'.repeat(8 * 1024 * 1024);
      const pending = [
        call(server.url, '/v1/completions', { model: 'test/bigram', prompt: huge, max_tokens: 1 }),
        call(server.url, '/v1/chat/completions', {
          model: 'test/bigram',
          messages: [{ role: 'user', content: huge }],
          max_tokens: 1,
        }),
        call(server.url, '/v1/completions', { model: 'test/bigram', prompt: ['x', huge], max_tokens: 1 }),
      ];
      expect((await call(server.url, '/healthz')).status).toBe(200);
      for (const answer of await Promise.all(pending)) {
        expect(answer.status).toBe(413);
        expect(answer.body.error.message).toMatch(/more than this server's limit of 262144 \(--max-prompt-bytes\)/);
      }
      expect(encode).not.toHaveBeenCalled();
    } finally {
      await server.close();
    }
  });

  it('bounds prompts and sequences per request: 2,000 prompts x n=64 is refused before any work', async () => {
    const server = await startTestServer({});
    try {
      const encode = vi.spyOn(server.backend.tokenizer, 'encode');
      const prompts = Array.from({ length: 2000 }, () => 'hello');
      const many = await call(server.url, '/v1/completions', { model: 'test/bigram', prompt: prompts, n: 64 });
      expect(many.status).toBe(400);
      expect(many.body.error.message).toBe(
        "prompt is a list of 2000 prompts, more than this server's limit of 64 per request (--max-prompts-per-request)",
      );
      const wide = await call(server.url, '/v1/completions', {
        model: 'test/bigram',
        prompt: prompts.slice(0, 8),
        n: 64,
        max_tokens: 1,
      });
      expect(wide.status).toBe(400);
      expect(wide.body.error.message).toMatch(/8 prompt\(s\) x n=64 asks for 512 sequences/);
      expect(encode).not.toHaveBeenCalled();
      const fine = await call(server.url, '/v1/completions', {
        model: 'test/bigram',
        prompt: ['a', 'b'],
        max_tokens: 1,
      });
      expect(fine.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('bounds work in flight per key: a held submit fills the slot, the next gets 429, polls still answer', async () => {
    const model = await newModel(open.url);
    // seq_id 9 waits for 1..8: its future stays pending, holding the key's one slot.
    const held = await call(open.url, '/api/v1/save_weights', { model_id: model, seq_id: 9, path: 'held' });
    expect(held.status).toBe(200);
    const refused = await call(open.url, '/api/v1/save_weights', { model_id: model, seq_id: 10, path: 'next' });
    expect(refused.status).toBe(429);
    expect(refused.body.detail).toMatch(/already has 1 requests in flight.*--max-concurrent-per-key 1/);
    const poll = await call(open.url, '/api/v1/turnwise_stats');
    expect(poll.status).toBe(200);
    expect(poll.body.pending_futures).toBe(1);
    const limiter = new WorkLimiter(2);
    const releases = [limiter.acquire('a'), limiter.acquire('a')];
    expect(() => limiter.acquire('a')).toThrow(/limit per key/);
    limiter.acquire('b');
    releases[0]!();
    releases[0]!();
    expect(limiter.count('a')).toBe(1);
  });

  it('bounds a zstd body after decompression: 10 MB of zeros in 326 bytes is refused with 413', async () => {
    const bomb = zstdBomb(80);
    expect(bomb.length).toBe(326);
    const server = await startTestServer({ maxBodyBytes: 200_000 });
    onTestFinished(() => server.close());
    const response = await fetch(`${server.url}/api/v1/forward_backward`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'zstd' },
      body: bomb,
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { detail: string }).detail).toMatch(
      /expands past the server's limit of 200000 bytes/,
    );
    const unknown = await fetch(`${server.url}/api/v1/create_session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
      body: '{}',
    });
    expect(unknown.status).toBe(415);
  });
});
