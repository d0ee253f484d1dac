/**
 * The `/api/v1/*` routes of the Tinker protocol (tinker-protocol.md section 1.4) over a
 * `BackendHost`: each validates its body with the wire schemas and answers at once, with a future
 * for the endpoints that do backend work. `retrieve_future` long-polls and answers results, a
 * still-running answer (200 `try_again`, or SkyRL's 408 after its hold), or a failure (200
 * `{error, category}`, or SkyRL's 400 `{detail}`), as the host's emulation profile says.
 */
import {
  CreateModelRequestSchema,
  CreateSamplingSessionRequestSchema,
  CreateSessionRequestSchema,
  ForwardBackwardRequestSchema,
  ForwardRequestSchema,
  LoadWeightsRequestSchema,
  ModelIdRequestSchema,
  OptimStepRequestSchema,
  RetrieveFutureRequestSchema,
  SampleRequestSchema,
  SaveWeightsForSamplerRequestSchema,
  SaveWeightsRequestSchema,
  SessionHeartbeatRequestSchema,
  modelInputTokens,
} from '../tinker/wire-schema.js';
import type { AuthTokens } from './auth-tokens.js';
import type { BackendHost } from './backend-host.js';
import type { FaultInjector } from './fault-injector.js';
import { HttpError, validate } from './http-io.js';
import type { SseWriter } from './sse-writer.js';
import { resolveWeightsPath } from './weights-root.js';

/** What a route handler receives. */
export interface RouteContext {
  body: unknown;
  rawBody: string;
  /** The path parameter of `GET /api/v1/samplers/{id}`; the `tinker://` path of a checkpoint archive route. */
  param?: string;
  /** The query string (signed archive downloads). */
  query?: URLSearchParams;
  /** The rollout a gateway request names (`/rollouts/<id>/v1/...` or `x-turnwise-rollout`). */
  rollout?: string;
}

/** Options the routes depend on. */
export interface TinkerRouteOptions {
  /** Longest a `retrieve_future` call holds before answering that the request is still running. */
  longPollMs: number;
  /** Answer failed futures as HTTP 400 `{detail}` (SkyRL) instead of 200 `{error, category}`. */
  failedFutureAs400: boolean;
  /** A finished future reports `try_again` for this many more milliseconds (fault injection). */
  delayFuturesMs: number;
  maxChunkDatums: number;
  maxChunkBytes: number;
  /** Count-based faults (held polls). */
  faults?: FaultInjector;
  /** Mints the JWTs of `auth/token`. */
  tokens: AuthTokens;
  /** The directory backend paths of `load_weights` must lie under (see weights-root.ts). */
  weightsRoot?: string;
  /** Work in flight per key, advertised in client/config. */
  maxConcurrentPerKey: number;
}

/** A handler's answer: status and JSON body. */
export type RouteAnswer =
  | { status: number; body: unknown; headers?: Record<string, string> }
  /** Raw bytes (checkpoint archives). */
  | { status: number; bytes: Uint8Array; headers: Record<string, string> }
  /**
   * A server-sent event stream (the OpenAI routes' `stream: true`); errors before its first event are answered as JSON.
   */
  | { stream: (sse: SseWriter) => Promise<void> };

type Handler = (context: RouteContext) => Promise<RouteAnswer> | RouteAnswer;

const ok = (body: unknown): RouteAnswer => ({ status: 200, body });

/** Builds the route table `METHOD path -> handler`. */
export function tinkerRoutes(host: BackendHost, options: TinkerRouteOptions): Map<string, Handler> {
  const routes = new Map<string, Handler>();
  const post = (path: string, handler: Handler): void => void routes.set(`POST /api/v1/${path}`, handler);
  const get = (path: string, handler: Handler): void => void routes.set(`GET /api/v1/${path}`, handler);

  get('healthz', () => ok({ status: 'ok' }));
  get('turnwise_stats', () =>
    ok({
      pending_futures: host.futures.pendingCount,
      queued_jobs: host.scheduler.queued,
      running_jobs: host.scheduler.running,
      weights_version: host.version,
    }),
  );
  get('get_server_capabilities', () => ok({ supported_models: [{ model_name: host.modelName }] }));
  const emulation = host.emulation;
  post('client/config', () =>
    ok(
      emulation.clientConfig({
        maxChunkDatums: options.maxChunkDatums,
        maxChunkBytes: options.maxChunkBytes,
        maxConcurrentPerKey: options.maxConcurrentPerKey,
      }),
    ),
  );
  // The SDK exchanges its key for a JWT when client/config says pjwt_auth_enabled (and for weights access tokens).
  post('auth/token', () => ok({ jwt: options.tokens.mint('turnwise') }));
  post('weights_info', ({ body }) => {
    const path = (body as { tinker_path?: unknown } | undefined)?.tinker_path;
    if (typeof path !== 'string')
      throw new HttpError(400, 'invalid weights_info request: tinker_path: expected a string');
    return ok(host.weightsInfo(path));
  });
  post('create_session', ({ body }) => {
    validate(CreateSessionRequestSchema, body, 'create_session');
    return ok({ type: 'create_session', session_id: host.createSession() });
  });
  post('session_heartbeat', ({ body }) => {
    host.heartbeat(validate(SessionHeartbeatRequestSchema, body, 'session_heartbeat').session_id);
    return ok({ type: 'session_heartbeat' });
  });
  post('create_model', ({ body }) => {
    const request = validate(CreateModelRequestSchema, body, 'create_model');
    const { requestId, modelId } = host.createModel(request.session_id, request.base_model, request.lora_config);
    // SkyRL answers the model id at once; the model exists once the future resolves.
    if (emulation.immediateModelId)
      return ok({
        model_id: modelId,
        base_model: request.base_model,
        lora_config: request.lora_config ?? null,
        status: 'created',
        request_id: requestId,
      });
    return ok({ request_id: requestId });
  });
  post('get_info', ({ body }) => ok(host.info(validate(ModelIdRequestSchema, body, 'get_info').model_id)));
  post('unload_model', ({ body }) =>
    ok({ request_id: host.unloadModel(validate(ModelIdRequestSchema, body, 'unload_model').model_id) }),
  );
  post('forward_backward', ({ body, rawBody }) => {
    const request = validate(ForwardBackwardRequestSchema, body, 'forward_backward');
    checkChunk('forward_backward', request.forward_backward_input.data.length, rawBody.length, options);
    return ok({
      request_id: host.submitForward(request.model_id, request.seq_id, request.forward_backward_input, false, rawBody),
      model_id: request.model_id,
    });
  });
  post('forward', ({ body, rawBody }) => {
    const request = validate(ForwardRequestSchema, body, 'forward');
    checkChunk('forward', request.forward_input.data.length, rawBody.length, options);
    return ok({
      request_id: host.submitForward(request.model_id, request.seq_id, request.forward_input, true, rawBody),
      model_id: request.model_id,
    });
  });
  post('optim_step', ({ body, rawBody }) => {
    const request = validate(OptimStepRequestSchema, body, 'optim_step');
    return ok({
      request_id: host.submitOptimStep(request.model_id, request.seq_id, request.adam_params, rawBody),
      model_id: request.model_id,
    });
  });
  post('save_weights', ({ body, rawBody }) => {
    const request = validate(SaveWeightsRequestSchema, body, 'save_weights');
    return ok({
      request_id: host.submitSave(request.model_id, request.seq_id, request.path, rawBody),
      model_id: request.model_id,
    });
  });
  post('load_weights', async ({ body, rawBody }) => {
    const request = validate(LoadWeightsRequestSchema, body, 'load_weights');
    // A tinker:// path is one this server wrote (the host looks it up); any other path must lie under the root.
    const path = request.path.startsWith('tinker://')
      ? request.path
      : await resolveWeightsPath(request.path, options.weightsRoot);
    return ok({
      request_id: host.submitLoad(request.model_id, request.seq_id, path, request.optimizer, rawBody),
      model_id: request.model_id,
    });
  });
  post('save_weights_for_sampler', ({ body, rawBody }) => {
    const request = validate(SaveWeightsForSamplerRequestSchema, body, 'save_weights_for_sampler');
    return ok({
      request_id: host.submitSaveForSampler(request.model_id, request.seq_id, request.path, rawBody),
      model_id: request.model_id,
    });
  });
  post('create_sampling_session', ({ body }) => {
    const request = validate(CreateSamplingSessionRequestSchema, body, 'create_sampling_session');
    return ok({
      type: 'create_sampling_session',
      sampling_session_id: host.createSamplingSession(request.session_id, request.base_model, request.model_path),
    });
  });
  routes.set('GET /api/v1/samplers/:id', ({ param }) => {
    if (!param || !host.hasSampler(param)) throw new HttpError(404, `sampler ${param} is unknown`);
    return ok({ sampler_id: param, base_model: host.modelName });
  });
  // The SDK's RestClient.get_checkpoint_archive_url: a 302 to a signed download URL (as hosted Tinker and SkyRL).
  get('training_runs/:run/checkpoints/:checkpoint/archive', ({ param }) => {
    const { path, expires } = host.archiveDownloadPath(param!);
    return {
      status: 302,
      body: { url: path, expires: expires.toISOString() },
      headers: { location: path, expires: expires.toUTCString() },
    };
  });
  get('training_runs/:run/checkpoints/:checkpoint/download', async ({ param, query }) => {
    if (!query || !host.archiveSignatureValid(param!, query))
      throw new HttpError(403, `the download URL of ${param} is unsigned or expired; ask .../archive for a new one`);
    const bytes = await host.archive(param!);
    const name = param!.slice('tinker://'.length).replaceAll('/', '_');
    return {
      status: 200,
      bytes,
      headers: { 'content-type': 'application/x-tar', 'content-disposition': `attachment; filename="${name}.tar"` },
    };
  });
  post('asample', ({ body, rawBody }) => {
    const request = validate(SampleRequestSchema, body, 'asample');
    if (request.num_samples > 64)
      throw new HttpError(400, `num_samples ${request.num_samples} is more than 64 per request`);
    return ok({ request_id: host.submitSample(request, modelInputTokens(request.prompt), rawBody) });
  });
  post('retrieve_future', async ({ body }) => {
    const request = validate(RetrieveFutureRequestSchema, body, 'retrieve_future');
    const id = request.request_id;
    const poll = host.futures.countPoll(id);
    if (!poll) throw new HttpError(404, `request_id ${id} is unknown or expired`);
    const tryAgain: RouteAnswer =
      emulation.stillRunningStatus === 408
        ? { status: 408, body: { detail: 'Timeout waiting for result' } }
        : { status: 200, body: { type: 'try_again', request_id: id, queue_state: 'active' } };
    if (poll.polls <= (options.faults?.heldPolls(poll.path) ?? 0)) {
      options.faults?.countHeldPoll();
      await hold(options.longPollMs);
      return tryAgain;
    }
    const state = await host.futures.wait(id, options.longPollMs);
    if (!state) throw new HttpError(404, `request_id ${id} is unknown or expired`);
    if (state.status === 'pending') return tryAgain;
    if (options.delayFuturesMs > 0 && Date.now() - state.finishedAt < options.delayFuturesMs) {
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(options.longPollMs, options.delayFuturesMs - (Date.now() - state.finishedAt))),
      );
      if (Date.now() - state.finishedAt < options.delayFuturesMs) return tryAgain;
    }
    if (state.status === 'done') return ok(state.result);
    if (options.failedFutureAs400) return { status: 400, body: { detail: state.error } };
    return ok({ error: state.error, category: state.category });
  });
  return routes;
}

/** Waits `ms` without keeping the process alive. */
function hold(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function checkChunk(endpoint: string, datums: number, bytes: number, options: TinkerRouteOptions): void {
  if (datums > options.maxChunkDatums) {
    throw new HttpError(
      413,
      `${endpoint} carries ${datums} datums, more than the ${options.maxChunkDatums} ` +
        `per request this server accepts; split the call into chunks`,
    );
  }
  if (bytes > options.maxChunkBytes * 2) {
    throw new HttpError(
      413,
      `${endpoint} body is ${bytes} bytes, more than twice the ` +
        `${options.maxChunkBytes}-byte chunk size; split the call into chunks`,
    );
  }
}
