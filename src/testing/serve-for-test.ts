/**
 * TEST SUPPORT: starts a Tinker-protocol server over a fresh bigram test backend on a free
 * loopback port, and connects a `TinkerBackend` to it with test-speed retry and heartbeat timings.
 * `startTestServer({ emulate: 'skyrl' })` (or `'hosted'`) runs the server as that service behaves
 * (see backends/server/emulation.ts), with a 200 ms poll hold instead of the profile's minutes.
 */
import { createTinkerServer, type TinkerServer, type TinkerServerOptions } from '../backends/server/tinker-server.js';
import { TinkerBackend, type TinkerBackendOptions } from '../backends/tinker/tinker-backend.js';
import { BigramTestBackend, type BigramTestBackendOptions } from './bigram-test-backend.js';

/** A server on loopback with its backend. */
export interface TestServer {
  url: string;
  server: TinkerServer;
  backend: BigramTestBackend;
  close(): Promise<void>;
}

/** Starts a server over a new `BigramTestBackend`; options go to `createTinkerServer` (`emulate` included). */
export async function startTestServer(
  options: Partial<TinkerServerOptions> = {},
  backendOptions: BigramTestBackendOptions = { seed: 1 },
): Promise<TestServer> {
  const backend = new BigramTestBackend(backendOptions);
  const server = createTinkerServer({
    modelName: 'test/bigram',
    longPollMs: 200,
    ...options,
    backend: options.backend ?? backend,
  });
  const url = await server.listen(0);
  return { url, server, backend, close: () => server.close() };
}

/** Connects a client to a test server with fast retries. */
export function connectTestClient(url: string, options: Partial<TinkerBackendOptions> = {}): Promise<TinkerBackend> {
  const tokenizerSource = new BigramTestBackend({ seed: 0 });
  return TinkerBackend.connect({
    baseUrl: url,
    baseModel: 'test/bigram',
    tokenizer: tokenizerSource.tokenizer,
    renderer: tokenizerSource.renderer,
    retry: { maxAttempts: 12, initialDelayMs: 2, maxDelayMs: 40 },
    futureBackoffMs: 2,
    pauseRetryMs: 2,
    heartbeatIntervalMs: 1000,
    ...options,
  });
}
