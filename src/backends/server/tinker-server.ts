/**
 * `createTinkerServer`: the Tinker HTTP protocol (plus OpenAI-compatible sampling under `/v1`) in
 * front of any Backend, on node:http. Every request is answered (a bad body with 4xx and a message
 * naming the problem, an internal failure with 500), an API key is required when configured, and
 * fault injection (see fault-injector.ts) can delay or hold futures, answer 402/408/410/429/503 or
 * drop connections. `emulate` reproduces another service's behaviour (SkyRL's 408 after a held poll,
 * its immediate model id and sampler; hosted Tinker's chunk and rate limits; see emulation.ts).
 * Backend work runs through the host's job queue, so health checks answer while a training step
 * runs; a backend that computes synchronously belongs in a `WorkerBackend`.
 *
 * Every request is bounded before work starts: the key is checked before routing (an empty key is
 * refused, a JWT from `auth/token` is accepted), the body size (also after zstd), prompt bytes,
 * prompts and sequences per request (request-bounds.ts), work in flight per key (work-limiter.ts),
 * and `load_weights` reads only under `weightsRoot` (weights-root.ts). forward_backward may come as
 * the SDK's protobuf, and results go back as protobuf when asked by `Accept` (tinker-proto.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backend } from '../backend.js';
import { ConfigError, errorMessage, TurnwiseError } from '../../errors.js';
import { AuthTokens, sameText } from './auth-tokens.js';
import { BackendHost } from './backend-host.js';
import { emulationProfile, RateLimiter, type EmulationProfile, type RateLimit } from './emulation.js';
import { FaultInjector, type FaultConfig } from './fault-injector.js';
import { decodeBody, HttpError, parseJson, readBody, sendJson } from './http-io.js';
import { OpenAiError } from './openai-schema.js';
import type { GatewayHooks } from './gateway-hooks.js';
import { openAiRoutes } from './openai-routes.js';
import { checkRequestBounds, DEFAULT_REQUEST_BOUNDS, type RequestBounds } from './request-bounds.js';
import { SseWriter } from './sse-writer.js';
import {
  decodeForwardBackwardRequest,
  encodeForwardBackwardOutput,
  encodeSampleResponse,
  PROTOBUF_CONTENT_TYPE,
  protoResultKind,
} from './tinker-proto.js';
import { tinkerRoutes, type RouteAnswer, type RouteContext } from './tinker-routes.js';
import { WorkLimiter } from './work-limiter.js';

/** Options of a server. */
export interface TinkerServerOptions {
  backend: Backend;
  /** The base model name clients ask for; default `turnwise/<backend name>`. */
  modelName?: string;
  /** Required as `X-API-Key` or `Authorization: Bearer` when set (healthz stays open); never empty. */
  apiKey?: string;
  /** Largest request body, before and after zstd; default 32 MB. */
  maxBodyBytes?: number;
  /** Prompt bytes, prompts and sequences per OpenAI request; defaults in request-bounds.ts. */
  bounds?: Partial<RequestBounds>;
  /**
   * Work in flight per API key (requests, and Tinker futures until they settle), advertised to the SDK as
   * `sample_max_concurrent_requests`; default 256 (unlimited for a run's own gateway).
   */
  maxConcurrentPerKey?: number;
  /** The directory `load_weights` may read backend paths under; none = only `tinker://` paths of this server. */
  weightsRoot?: string;
  /** Where the warning about an open server beyond loopback goes; default stderr. */
  warn?: (message: string) => void;
  /** Chunk limits advertised in `client/config` and enforced on forward_backward. */
  maxChunkDatums?: number;
  maxChunkBytes?: number;
  /** The service to behave like (see emulation.ts); default turnwise, this server's own protocol. */
  emulate?: EmulationProfile;
  /** Longest `retrieve_future` hold; default the profile's (turnwise 20 s, SkyRL 300 s, hosted 30 s). */
  longPollMs?: number;
  /** Answer failed futures like SkyRL (HTTP 400 `{detail}`); default the profile's. */
  failedFutureAs400?: boolean;
  /** Rate limit of `asample` (429 with `retry-after`); default the profile's (hosted: 64/s), null = none. */
  rateLimit?: RateLimit | null;
  faults?: Partial<FaultConfig>;
  sessionTimeoutMs?: number;
  seqGapTimeoutMs?: number;
  maxConcurrentSamples?: number;
  /** Persists the `tinker://` checkpoint paths across restarts (see BackendHostOptions). */
  checkpointIndexFile?: string;
  /** Honour create_model's `lora_config` (the backend trains a LoRA; see BackendHostOptions). */
  lora?: { alpha?: number };
  /** The untrained base weights `base_model` sampling serves (see BackendHostOptions). */
  baseBackend?: Backend;
  seed?: number;
  /** Called for every routed request after its body was read (request logs, tests). */
  /** Hooks of a training run serving its policy to agents (see gateway-hooks.ts). */
  gateway?: GatewayHooks;
  onRequest?: (record: RequestRecord) => void;
}

/** One request as the server saw it. */
export interface RequestRecord {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** A running (or ready to run) server. */
export interface TinkerServer {
  readonly http: Server;
  readonly host: BackendHost;
  readonly faults: FaultInjector;
  /** Requests the rate limit refused with 429. */
  readonly counters: { rateLimited: number };
  /** Listens on `port` (0 = any free port) of `hostname` (default 127.0.0.1) and returns the base URL. */
  listen(port?: number, hostname?: string): Promise<string>;
  /** Stops accepting connections, ends open ones and stops timers (the backend is not closed). */
  close(): Promise<void>;
}

type Handler = (context: RouteContext) => Promise<RouteAnswer> | RouteAnswer;

/** `/api/v1/training_runs/<run>/checkpoints/[<kind>/]<name>/(archive|download)`. */
const ARCHIVE_ROUTE =
  /^\/api\/v1\/training_runs\/([^/]+)\/checkpoints\/(?:(weights|sampler_weights)\/)?([^/]+)\/(archive|download)$/;

/** Creates a Tinker-protocol server over `options.backend`. */
export function createTinkerServer(options: TinkerServerOptions): TinkerServer {
  if (options.apiKey !== undefined && options.apiKey.trim().length === 0)
    throw new ConfigError(
      `the API key is empty (${JSON.stringify(options.apiKey)}); give a non-empty --api-key, or none for an open server`,
    );
  const modelName = options.modelName ?? `turnwise/${options.backend.name}`;
  const emulation = emulationProfile(options.emulate ?? 'turnwise');
  const host = new BackendHost({
    emulation,
    backend: options.backend,
    baseBackend: options.baseBackend,
    modelName,
    sessionTimeoutMs: options.sessionTimeoutMs,
    seqGapTimeoutMs: options.seqGapTimeoutMs,
    maxConcurrentSamples: options.maxConcurrentSamples,
    seed: options.seed,
    checkpointIndexFile: options.checkpointIndexFile,
    lora: options.lora,
  });
  const faults = new FaultInjector(options.faults);
  const rateLimit = options.rateLimit === undefined ? emulation.rateLimit : options.rateLimit;
  const limiter = rateLimit ? new RateLimiter(rateLimit) : undefined;
  const counters = { rateLimited: 0 };
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const bounds: RequestBounds = { ...DEFAULT_REQUEST_BOUNDS };
  for (const [name, value] of Object.entries(options.bounds ?? {}))
    if (value !== undefined) bounds[name as keyof RequestBounds] = value;
  // A training run's own gateway serves its rollouts, as many at once as the run has: no limit per key there.
  const workLimiter = new WorkLimiter(
    options.maxConcurrentPerKey ?? (options.gateway ? Number.POSITIVE_INFINITY : 256),
  );
  const tokens = new AuthTokens();
  const routes = new Map<string, Handler>([
    ...tinkerRoutes(host, {
      longPollMs: options.longPollMs ?? emulation.longPollMs,
      failedFutureAs400: options.failedFutureAs400 ?? emulation.failedFutureAs400,
      delayFuturesMs: faults.config.delayFuturesMs,
      maxChunkDatums: options.maxChunkDatums ?? 1024,
      maxChunkBytes: options.maxChunkBytes ?? 5_000_000,
      faults,
      tokens,
      weightsRoot: options.weightsRoot,
      maxConcurrentPerKey: Math.min(2000, workLimiter.maxPerKey),
    }),
    ...openAiRoutes(host, modelName, options.gateway),
  ]);

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    let path = withoutTrailingSlashes(url.pathname) || '/';
    let param: string | undefined;
    // A gateway agent names its rollout in the base URL (any client library keeps the path) or a header.
    let rollout =
      typeof request.headers['x-turnwise-rollout'] === 'string' ? request.headers['x-turnwise-rollout'] : undefined;
    const prefixed = /^\/rollouts\/([^/]+)(\/v1\/.*)$/.exec(path);
    if (prefixed) {
      rollout = decodeURIComponent(prefixed[1]!);
      path = prefixed[2]!;
    }
    const sampler = /^\/api\/v1\/samplers\/([^/]+)$/.exec(path);
    if (sampler) {
      param = decodeURIComponent(sampler[1]!);
      path = '/api/v1/samplers/:id';
    }
    const archive = ARCHIVE_ROUTE.exec(path);
    if (archive) {
      // `<kind>/<name>` as the SDK sends it, or SkyRL's bare sampler checkpoint name.
      const [run, kind, name] = [archive[1]!, archive[2] ?? 'sampler_weights', archive[3]!].map(decodeURIComponent);
      param = `tinker://${run}/${kind}/${name}`;
      path = `/api/v1/training_runs/:run/checkpoints/:checkpoint/${archive[4]}`;
    }
    const model = /^\/v1\/models\/(.+)$/.exec(path);
    if (model) {
      param = decodeURIComponent(model[1]!);
      path = '/v1/models/:id';
    }
    if (path === '/api/v1/healthz' || path === '/healthz' || path === '/health')
      return sendJson(response, 200, { status: 'ok' });
    // Authenticate before routing: a bad key learns nothing of the routes.
    // A signed download URL is its own credential (its route checks the signature), as a storage URL is.
    const signedDownload = path.endsWith(':checkpoint/download');
    const key = options.apiKey === undefined || signedDownload ? 'open' : checkApiKey(request, options.apiKey, tokens);
    let handler = routes.get(`${method} ${path}`);
    if (!handler) {
      const other = [...routes.keys()].find((key) => key.endsWith(` ${path}`));
      if (other) throw new HttpError(405, `${method} is not allowed on ${path}; use ${other.split(' ')[0]}`);
      throw new HttpError(404, `no route ${method} ${path}; Tinker routes live under /api/v1, OpenAI routes under /v1`);
    }
    if (path.startsWith('/api/v1/') && faults.config.latencyMs > 0)
      await new Promise((resolve) => setTimeout(resolve, faults.config.latencyMs));
    if (path.startsWith('/api/v1/') && faults.takePause()) {
      request.resume();
      return sendJson(response, 402, {
        detail:
          'payment required: this account is paused (injected fault); requests resume once it is in good standing',
      });
    }
    if (limiter && method === 'POST' && path === '/api/v1/asample') {
      const waitMs = limiter.take();
      if (waitMs > 0) {
        counters.rateLimited++;
        request.resume();
        const headers = { 'retry-after-ms': String(waitMs), 'retry-after': String(Math.ceil(waitMs / 1000)) };
        return sendJson(
          response,
          429,
          {
            detail:
              `rate limited: at most ${rateLimit!.requestsPerSecond} sampling requests ` +
              `per second (burst ${rateLimit!.burst}); retry after ${waitMs} ms`,
          },
          headers,
        );
      }
    }
    const fault = path.startsWith('/api/v1/') && faults.active ? faults.decide(path) : 'none';
    if (fault === 'drop') return void request.socket.destroy();
    const retryAfter = { 'retry-after-ms': String(faults.config.retryAfterMs) };
    if (fault === '429') return sendJson(response, 429, { detail: 'rate limited (injected fault)' }, retryAfter);
    if (fault === '5xx') return sendJson(response, 503, { detail: 'service unavailable (injected fault)' }, retryAfter);
    if (fault === '408')
      return sendJson(response, 408, { detail: 'long poll timed out (injected fault)', queue_state: 'active' });
    if (fault === '410')
      return sendJson(response, 410, { detail: 'future expired (injected fault); resubmit the request' });
    const release = LIGHT_ROUTES.has(path) ? () => {} : workLimiter.acquire(key);
    let answer: RouteAnswer;
    try {
      let rawBody = '';
      let body: unknown;
      if (method === 'POST') {
        const bytes = decodeBody(
          await readBody(request, maxBodyBytes),
          headerText(request.headers['content-encoding']),
          maxBodyBytes,
        );
        if (headerText(request.headers['content-type'])?.toLowerCase().includes(PROTOBUF_CONTENT_TYPE)) {
          if (path !== '/api/v1/forward_backward')
            throw new HttpError(
              415,
              `${path} takes JSON; only /api/v1/forward_backward takes ${PROTOBUF_CONTENT_TYPE}`,
            );
          const decoded = decodeForwardBackwardRequest(bytes);
          if (decoded.forwardOnly) {
            path = '/api/v1/forward';
            handler = routes.get(`POST ${path}`)!;
          }
          body = decoded.body;
          rawBody = bytes.toString('latin1');
        } else {
          rawBody = bytes.toString('utf8');
          body = parseJson(rawBody);
        }
      }
      if (path.startsWith('/v1/')) checkRequestBounds(body, bounds);
      options.onRequest?.({ method, path, headers: request.headers, body });
      answer = await handler({ body, rawBody, param, rollout, query: url.searchParams });
    } catch (error) {
      release();
      throw error;
    }
    // A submit's work lasts until its future settles; everything else until the answer is sent.
    const requestId = 'body' in answer ? (answer.body as { request_id?: unknown } | null)?.request_id : undefined;
    if (typeof requestId === 'string' && path !== '/api/v1/retrieve_future') host.futures.onSettled(requestId, release);
    else response.on('close', release);
    if ('stream' in answer) {
      const sse = new SseWriter(response);
      try {
        await answer.stream(sse);
      } catch (error) {
        if (!sse.started) throw error;
        sse.fail(errorFields(error));
      }
      return;
    }
    if (fault === 'drop_after') return void request.socket.destroy();
    if ('bytes' in answer) {
      response.writeHead(answer.status, { ...answer.headers, 'content-length': answer.bytes.byteLength });
      return void response.end(answer.bytes);
    }
    const accept = headerText(request.headers.accept) ?? '';
    const kind =
      answer.status === 200 && accept.includes(PROTOBUF_CONTENT_TYPE) ? protoResultKind(answer.body) : undefined;
    if (kind) {
      const bytes =
        kind === 'sample'
          ? encodeSampleResponse(answer.body as Parameters<typeof encodeSampleResponse>[0])
          : encodeForwardBackwardOutput(answer.body as Parameters<typeof encodeForwardBackwardOutput>[0]);
      response.writeHead(200, { 'content-type': PROTOBUF_CONTENT_TYPE, 'content-length': bytes.length });
      response.end(bytes);
      return;
    }
    sendJson(response, answer.status, answer.body, answer.headers);
  }

  const http = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status = statusOf(error);
      // After a refused upload, close the connection rather than read the rest of the body.
      const headers: Record<string, string> = {
        ...(error instanceof HttpError ? error.headers : {}),
        ...(status === 413 ? { connection: 'close' } : {}),
      };
      sendJson(response, status, errorBody(request.url ?? '', error), headers);
      if (status === 413) response.on('finish', () => request.socket.destroy());
    });
  });
  http.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  http.keepAliveTimeout = 30_000;

  return {
    http,
    host,
    faults,
    counters,
    listen(port = 0, hostname = '127.0.0.1') {
      if (options.apiKey === undefined && !isLoopback(hostname))
        (options.warn ?? ((message: string) => process.stderr.write(`${message}\n`)))(
          `WARNING: turnwise serve is listening on ${hostname}, beyond loopback, WITHOUT an API key: anyone who ` +
            `can reach this port can train, sample and load weights. Set --api-key (or TURNWISE_API_KEY), ` +
            `or bind --host 127.0.0.1.`,
        );
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, hostname, () => {
          const address = http.address() as AddressInfo;
          resolve(`http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${address.port}`);
        });
      });
    },
    close() {
      host.close();
      return new Promise((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

function statusOf(error: unknown): number {
  return error instanceof HttpError ? error.status : error instanceof TurnwiseError ? 400 : 500;
}

/** OpenAI's `{message, type, param, code}` of an error. */
function errorFields(error: unknown): { message: string; type: string; param: string | null; code: string | null } {
  const status = statusOf(error);
  const message = `${status === 500 ? 'internal error: ' : ''}${errorMessage(error)}`;
  const type = status === 401 ? 'authentication_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return error instanceof OpenAiError
    ? { message, type, param: error.param, code: error.code }
    : { message, type, param: null, code: status === 401 ? 'invalid_api_key' : null };
}

/** `{detail}` (FastAPI / Tinker style), plus OpenAI's `{error: {message, type, param, code}}` under `/v1`. */
function errorBody(url: string, error: unknown): Record<string, unknown> {
  const fields = errorFields(error);
  if (!url.startsWith('/v1/')) return { detail: fields.message };
  return { error: fields, detail: fields.message };
}

/** Routes that start no work of their own (polls, heartbeats, configuration): not counted per key. */
const LIGHT_ROUTES = new Set([
  '/api/v1/retrieve_future',
  '/api/v1/session_heartbeat',
  '/api/v1/client/config',
  '/api/v1/auth/token',
  '/api/v1/get_server_capabilities',
  '/api/v1/turnwise_stats',
]);

/** Checks the key (or a JWT of `auth/token`) and returns it as the key work is counted under. */
function checkApiKey(request: IncomingMessage, apiKey: string, tokens: AuthTokens): string {
  const header = headerText(request.headers['x-api-key']);
  const bearer = /^Bearer\s*(.*)$/i.exec(request.headers.authorization ?? '')?.[1];
  const given = header ?? bearer;
  if (given === undefined) throw new HttpError(401, 'missing API key: send it as X-API-Key (or Authorization: Bearer)');
  if (given.trim().length === 0) throw new HttpError(401, 'empty API key: send the server key as X-API-Key');
  if (sameText(given, apiKey)) return apiKey;
  if (tokens.verify(given)) return apiKey;
  throw new HttpError(401, 'invalid API key');
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '::1' || hostname === '[::1]' || /^127\./.test(hostname);
}

/** `path` without its trailing slashes; `/\/+$/` backtracks quadratically on a long run of slashes mid-path. */
function withoutTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  return path.slice(0, end);
}
