/**
 * `TinkerBackend`: the Backend contract over a Tinker-protocol HTTP service (hosted Tinker, SkyRL's
 * server, or `turnwise serve`). It opens a session and keeps it alive with a heartbeat, creates a
 * LoRA training client, submits mutating requests one at a time with `seq_id` 1, 2, 3, ... (chunks
 * of a large forward_backward included), awaits results through futures, and samples through an
 * ephemeral sampler snapshot refreshed after every weight change. Tokenisation stays client-side:
 * the caller passes the base model's tokenizer and chat renderer. Bodies carry only the fields the
 * Python SDK sends; `create_model` is awaited through its future even when the model id comes at
 * once (SkyRL); every retry, wait and sampled token is counted and returned by `optimStep` as
 * `tinker/*` metrics of the step.
 */
import type { Backend } from '../backend.js';
import type { AdamParams, Datum, ForwardBackwardResult, LossSpec } from '../../training-types.js';
import type { ChatRenderer } from '../../rollout/chat-renderer.js';
import type { Policy } from '../../rollout/policy.js';
import type { Tokenizer } from '../../rollout/tokenizer.js';
import { ConfigError, RemoteError, errorMessage } from '../../errors.js';
import { CAPABILITY_PRESETS, detectCapabilities, type TinkerCapabilities } from './capabilities.js';
import { chunkWireData, encodeExactData, encodeStandardData, wireLossConfig, wireLossFn } from './datum-codec.js';
import type { ClientStats } from './client-stats.js';
import { resolveFuture, type ResolveOptions } from './future-resolver.js';
import { lossFromLogprobs } from './loss-from-logprobs.js';
import { TinkerReferenceSampler } from './reference-sampler.js';
import { TinkerSamplingPolicy, type SamplingSession } from './sampling-client.js';
import { TinkerTransport, type RetryPolicy } from './transport.js';
import type { ForwardBackwardOutput, UntypedFuture, WireDatum } from './wire-schema.js';

/** Options of `TinkerBackend.connect`. */
export interface TinkerBackendOptions {
  /** Server root, e.g. `https://tinker.thinkingmachines.dev/services/tinker-prod` or `http://127.0.0.1:8000`. */
  baseUrl: string;
  /** Sent as `X-API-Key`. */
  apiKey?: string;
  /** The base model id, e.g. `Qwen/Qwen3-8B`. */
  baseModel: string;
  /** LoRA rank of the training client; default 32. */
  loraRank?: number;
  /** The base model's tokenizer and chat renderer (tokenisation is client-side). */
  tokenizer: Tokenizer;
  renderer: ChatRenderer;
  /** Server family, or `auto` to detect it from `client/config` (default). */
  server?: 'auto' | TinkerCapabilities['server'];
  /** Overrides of individual capability flags. */
  capabilities?: Partial<TinkerCapabilities>;
  /** Session heartbeat period; default 10 s. */
  heartbeatIntervalMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Timeout of one HTTP attempt; default 60 s. */
  timeoutMs?: number;
  /** Longest one request keeps retrying and waiting (408, 429, 402 included); default 30 min. */
  requestDeadlineMs?: number;
  /** Longest the client awaits one future (a queued forward_backward can take hours); default 6 h. */
  futureDeadlineMs?: number;
  /** Client timeout of one `retrieve_future` long poll (a timed-out poll just polls again); default 45 s. */
  pollTimeoutMs?: number;
  /** Wait between attempts while the service answers 402 (paused); default 5 s. */
  pauseRetryMs?: number;
  /** First backoff of a future after a connection error, 429 or 5xx; default 500 ms. */
  futureBackoffMs?: number;
  /**
   * Send identical sampling requests with consecutive seeds (a group's first turn) as one request
   * with `num_samples`; default true. Results are the same either way on servers that seed the
   * i-th sample with seed + i.
   */
  coalesceSamples?: boolean;
  /** Where pause messages go; default `console.warn`. */
  log?: (message: string) => void;
  /**
   * Standard Tinker servers compute training logprobs at temperature 1; by default a call with
   * another temperature is an error. Set to true to train at temperature 1 anyway.
   */
  ignoreTemperature?: boolean;
  tags?: string[];
  userMetadata?: Record<string, unknown>;
  /**
   * Let the training loop submit optim_step right after forward_backward, before its result (the
   * server runs them in `seq_id` order, as tinker-cookbook relies on); default true. False awaits
   * each forward_backward first (one round trip more per step).
   */
  pipelineSubmit?: boolean;
}

interface Submitted {
  requestId: string;
  resubmit: () => Promise<string>;
  what: string;
}

const SDK_VERSION = 'turnwise-0.1.0';

/** A Backend that trains and samples on a remote Tinker-protocol service. */
export class TinkerBackend implements Backend {
  readonly name = 'tinker';
  readonly tokenizer: Tokenizer;
  readonly renderer: ChatRenderer;
  /** What the client met and produced (retries, waits, pauses, tokens); `optimStep` reports it per step. */
  readonly stats: ClientStats;
  readonly submitsInOrder: boolean;
  /** Heartbeats that failed (the session may expire after 300 s without one). */
  heartbeatFailures = 0;

  private nextSeqId = 1;
  private nextSamplingSessionSeqId = 0;
  private submitChain: Promise<unknown> = Promise.resolve();
  private broken: string | undefined;
  private sampler: Promise<SamplingSession> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly samplingPolicy: TinkerSamplingPolicy;

  private constructor(
    private readonly options: TinkerBackendOptions,
    readonly transport: TinkerTransport,
    readonly capabilities: TinkerCapabilities,
    readonly sessionId: string,
    readonly modelId: string,
  ) {
    this.tokenizer = options.tokenizer;
    this.renderer = options.renderer;
    this.stats = transport.stats;
    this.submitsInOrder = options.pipelineSubmit !== false;
    this.samplingPolicy = new TinkerSamplingPolicy({
      transport,
      tokenizer: options.tokenizer,
      session: () => this.currentSampler(),
      wire: {
        mixedStops: capabilities.mixedStops,
        maxNumSamples: options.coalesceSamples === false ? 1 : capabilities.maxNumSamples,
      },
      futures: futureOptions(options, capabilities),
    });
  }

  /** Connects: detects capabilities, opens a session with its heartbeat, creates the training client. */
  static async connect(options: TinkerBackendOptions): Promise<TinkerBackend> {
    const transport = new TinkerTransport({
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      deadlineMs: options.requestDeadlineMs,
      pauseRetryMs: options.pauseRetryMs,
      log: options.log,
    });
    const capabilities = await probeCapabilities(transport, options);
    const session = await transport.postOk<{ session_id: string }>('/api/v1/create_session', {
      tags: options.tags ?? [],
      user_metadata: options.userMetadata ?? null,
      sdk_version: SDK_VERSION,
      type: 'create_session',
    });
    const created = await transport.postOk<UntypedFuture & { model_id?: string }>('/api/v1/create_model', {
      session_id: session.session_id,
      model_seq_id: 0,
      base_model: options.baseModel,
      lora_config: { rank: options.loraRank ?? 32, train_unembed: true, train_mlp: true, train_attn: true },
      type: 'create_model',
    });
    // SkyRL answers the model id at once, but the model is only usable (or known to have failed to
    // load) once the create_model future resolves: wait for it whenever there is one.
    let modelId = created.model_id;
    if (typeof created.request_id === 'string' || typeof created.request_id === 'number') {
      const result = await resolveFuture<{ model_id?: string } | null>(transport, String(created.request_id), {
        ...futureOptions(options, capabilities),
        what: 'create_model',
      });
      if (typeof result?.model_id === 'string') modelId = result.model_id;
    }
    if (typeof modelId !== 'string')
      throw new RemoteError(
        `create_model at ${transport.baseUrl} returned no model_id (answer: ${JSON.stringify(created)})`,
      );
    const backend = new TinkerBackend(options, transport, capabilities, session.session_id, modelId);
    backend.startHeartbeat(options.heartbeatIntervalMs ?? 10_000);
    return backend;
  }

  policy(): Policy {
    return this.samplingPolicy;
  }

  /** The base model's sampler in this session, the reference of the KL term (folded into advantages). */
  baseReference(): TinkerReferenceSampler {
    return new TinkerReferenceSampler({
      transport: this.transport,
      sessionId: this.sessionId,
      baseModel: this.options.baseModel,
      samplingSessionSeqId: this.nextSamplingSessionSeqId++,
      futures: futureOptions(this.options, this.capabilities),
    });
  }

  async forward(data: Datum[], options: { temperature: number }): Promise<number[][]> {
    const extension = this.capabilities.turnwiseExtensions;
    if (!extension) this.checkTemperature(options.temperature);
    const wire = extension ? encodeExactData(data) : encodeStandardData(data, { kind: 'cross_entropy' });
    const chunks = chunkWireData(wire, this.capabilities.maxChunkDatums, this.capabilities.maxChunkBytes);
    const submitted = await Promise.all(
      chunks.map((chunk) =>
        this.submit('/api/v1/forward', 'forward', false, {
          forward_input: {
            data: chunk,
            loss_fn: 'cross_entropy',
            ...(extension ? { turnwise: { temperature: options.temperature, chunk: { index: 0, count: 1 } } } : {}),
          },
        }),
      ),
    );
    const outputs = await Promise.all(submitted.map((value) => this.await<ForwardBackwardOutput>(value)));
    return outputs.flatMap((output) => extractLogprobs(output));
  }

  async forwardBackward(
    data: Datum[],
    loss: LossSpec,
    options: { temperature: number },
  ): Promise<ForwardBackwardResult> {
    if (!this.capabilities.lossFns.includes(wireLossFn(loss))) {
      throw new ConfigError(
        `loss ${loss.kind} is not supported by this ${this.capabilities.server} server; ` +
          `supported: ${this.capabilities.lossFns.join(', ')}`,
      );
    }
    const extension = this.capabilities.turnwiseExtensions;
    if (!extension) this.checkTemperature(loss.kind === 'cross_entropy' ? 1 : options.temperature);
    const wire: WireDatum[] = extension ? encodeExactData(data) : encodeStandardData(data, loss);
    const chunks = chunkWireData(wire, this.capabilities.maxChunkDatums, this.capabilities.maxChunkBytes);
    const config = wireLossConfig(loss);
    // Every chunk joins the submission queue now, before the first await, so an optimStep called
    // right after this (pipelined) gets the next seq_id.
    const submitted = await Promise.all(
      chunks.map((chunk, index) =>
        this.submit('/api/v1/forward_backward', 'forward_backward', false, {
          forward_backward_input: {
            data: chunk,
            loss_fn: wireLossFn(loss),
            ...(config ? { loss_fn_config: config } : {}),
            ...(extension
              ? { turnwise: { loss, temperature: options.temperature, chunk: { index, count: chunks.length } } }
              : {}),
          },
        }),
      ),
    );
    const outputs = await Promise.all(submitted.map((value) => this.await<ForwardBackwardOutput>(value)));
    const logprobs = outputs.flatMap((output) => extractLogprobs(output));
    if (logprobs.length !== data.length) {
      throw new RemoteError(
        `forward_backward returned logprobs for ${logprobs.length} datums, expected ${data.length}`,
      );
    }
    if (extension) {
      const exact = outputs[outputs.length - 1]!.turnwise;
      if (!exact) throw new RemoteError('the server advertised turnwise extensions but returned no exact loss');
      return { logprobs, loss: exact.loss, metrics: exact.metrics };
    }
    const computed = lossFromLogprobs(data, loss, logprobs);
    const metrics: Record<string, number> = { ...computed.metrics };
    for (const output of outputs) {
      for (const [key, value] of Object.entries(output.metrics ?? {}))
        metrics[`tinker/${key}`] = (metrics[`tinker/${key}`] ?? 0) + value;
    }
    return { logprobs, loss: computed.loss, metrics };
  }

  async optimStep(params: AdamParams): Promise<Record<string, number>> {
    this.sampler = undefined;
    const submitted = await this.submit('/api/v1/optim_step', 'optim_step', true, {
      adam_params: {
        learning_rate: params.learningRate,
        beta1: params.beta1,
        beta2: params.beta2,
        eps: params.eps,
        weight_decay: params.weightDecay,
        grad_clip_norm: params.gradClipNorm,
      },
    });
    const result = await this.await<{ metrics?: Record<string, number> } | null>(submitted);
    const metrics = { ...(result?.metrics ?? {}) };
    if (params.gradClipNorm > 0 && !this.capabilities.honorsGradClip) metrics['tinker/grad_clip_ignored'] = 1;
    // Every retry, wait and sampled token since the previous step (sampling of this round included).
    return { ...metrics, ...this.stats.takeStepMetrics() };
  }

  /**
   * Saves the training state (`tinker://<model>/weights/<name>`, what `load` resumes from) and
   * sampler weights of the same name (`.../sampler_weights/<name>`, whose archive `turnwise export`
   * downloads: services offer archives of sampler weights).
   */
  async save(name: string): Promise<string> {
    const saved = await this.submit('/api/v1/save_weights', 'save_weights', true, { path: name });
    const sampler = await this.submit('/api/v1/save_weights_for_sampler', 'save_weights_for_sampler', true, {
      path: name,
    });
    const result = await this.await<{ path?: string } | null>(saved);
    if (typeof result?.path !== 'string') throw new RemoteError(`save_weights ${name} returned no path`);
    await this.await(sampler);
    return result.path;
  }

  async load(path: string, options: { optimizer: boolean }): Promise<void> {
    this.sampler = undefined;
    await this.await(
      await this.submit('/api/v1/load_weights', 'load_weights', true, { path, optimizer: options.optimizer }),
    );
  }

  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** The sampler session of the current weights, saving an ephemeral sampler snapshot when stale. */
  private currentSampler(): Promise<SamplingSession> {
    if (!this.sampler) {
      const samplingSessionSeqId = this.nextSamplingSessionSeqId++;
      const pending = this.submit('/api/v1/save_weights_for_sampler', 'save_weights_for_sampler', true, {
        sampling_session_seq_id: samplingSessionSeqId,
      })
        .then((submitted) => this.await<{ sampling_session_id?: string; path?: string } | null>(submitted))
        .then(async (result) => {
          if (result?.sampling_session_id) return { id: result.sampling_session_id, nextSeqId: 0 };
          if (!result?.path)
            throw new RemoteError('save_weights_for_sampler returned neither sampling_session_id nor path');
          const created = await this.transport.postOk<{ sampling_session_id: string }>(
            '/api/v1/create_sampling_session',
            {
              session_id: this.sessionId,
              sampling_session_seq_id: this.nextSamplingSessionSeqId++,
              model_path: result.path,
              type: 'create_sampling_session',
            },
          );
          return { id: created.sampling_session_id, nextSeqId: 0 };
        });
      pending.catch(() => {
        if (this.sampler === pending) this.sampler = undefined;
      });
      this.sampler = pending;
    }
    return this.sampler;
  }

  /**
   * Submits one mutating request after every earlier one was accepted, with the next `seq_id`.
   * `typed`: the body carries `type` (the SDK sends it on every request but forward and forward_backward).
   */
  private submit(path: string, what: string, typed: boolean, body: Record<string, unknown>): Promise<Submitted> {
    const run = async (): Promise<Submitted> => {
      if (this.broken) throw new RemoteError(`the training client is unusable: ${this.broken}`);
      const seqId = this.nextSeqId++;
      const full = { ...body, model_id: this.modelId, seq_id: seqId, ...(typed ? { type: what } : {}) };
      const idempotencyKey = this.transport.newIdempotencyKey();
      const resubmit = async (): Promise<string> =>
        (await this.transport.postOk<UntypedFuture>(path, full, { idempotencyKey })).request_id;
      try {
        return { requestId: await resubmit(), resubmit, what: `${what} seq_id ${seqId}` };
      } catch (error) {
        // A lost seq_id would stall every later request on servers that execute in seq_id order.
        this.broken = `${what} seq_id ${seqId} could not be submitted: ${errorMessage(error)}`;
        throw error;
      }
    };
    const result = this.submitChain.then(run, run);
    this.submitChain = result.catch(() => undefined);
    return result;
  }

  private await<T>(submitted: Submitted): Promise<T> {
    return resolveFuture<T>(this.transport, submitted.requestId, {
      ...futureOptions(this.options, this.capabilities),
      resubmit: submitted.resubmit,
      what: submitted.what,
    });
  }

  private checkTemperature(temperature: number): void {
    if (temperature !== 1 && !this.options.ignoreTemperature) {
      throw new ConfigError(
        `temperature ${temperature}: a ${this.capabilities.server} Tinker server computes training ` +
          `logprobs at temperature 1; sample at temperature 1 or pass ignoreTemperature: true`,
      );
    }
  }

  private startHeartbeat(intervalMs: number): void {
    let inFlight = false;
    this.heartbeat = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      this.transport
        .postOk('/api/v1/session_heartbeat', { session_id: this.sessionId, type: 'session_heartbeat' })
        .catch(() => this.heartbeatFailures++)
        .finally(() => (inFlight = false));
    }, intervalMs);
    this.heartbeat.unref();
  }
}

/** How this client awaits futures. */
function futureOptions(
  options: TinkerBackendOptions,
  capabilities: TinkerCapabilities,
): Omit<ResolveOptions, 'what' | 'resubmit'> {
  return {
    failedFutureAs400: capabilities.failedFutureAs400,
    initialBackoffMs: options.futureBackoffMs,
    pollTimeoutMs: options.pollTimeoutMs,
    deadlineMs: options.futureDeadlineMs,
  };
}

async function probeCapabilities(
  transport: TinkerTransport,
  options: TinkerBackendOptions,
): Promise<TinkerCapabilities> {
  let config: Record<string, unknown> | null = null;
  const answer = await transport.post('/api/v1/client/config', { sdk_version: SDK_VERSION });
  if (answer.status === 200 && answer.body && typeof answer.body === 'object')
    config = answer.body as Record<string, unknown>;
  else if (answer.status === 401 || answer.status === 403) {
    throw new RemoteError(
      `the server at ${transport.baseUrl} refused the API key (HTTP ${answer.status})`,
      answer.status,
    );
  }
  if (config?.pjwt_auth_enabled === true) {
    if (!options.apiKey) throw new ConfigError(`the server at ${transport.baseUrl} uses JWT auth; pass apiKey`);
    await exchangeJwt(transport, options.apiKey);
  }
  const detected = detectCapabilities(config);
  // An explicit server family replaces the detected flags but keeps the advertised chunk limits.
  const chosen =
    !options.server || options.server === 'auto'
      ? detected
      : {
          ...CAPABILITY_PRESETS[options.server],
          maxChunkDatums: detected.maxChunkDatums,
          maxChunkBytes: detected.maxChunkBytes,
        };
  return { ...chosen, ...options.capabilities };
}

/**
 * JWT mode of newer hosted servers (tinker-protocol.md section 1.2): the API key buys a JWT from
 * `auth/token`, which is then sent as `X-API-Key` and refreshed a few minutes before it expires.
 */
async function exchangeJwt(transport: TinkerTransport, apiKey: string): Promise<void> {
  const answer = await transport.postOk<{ jwt?: string }>(
    '/api/v1/auth/token',
    {},
    { headers: { 'x-api-key': apiKey } },
  );
  if (typeof answer.jwt !== 'string')
    throw new RemoteError('the server enabled JWT auth but auth/token returned no jwt');
  transport.setCredential(answer.jwt);
  const expiresAt = jwtExpiry(answer.jwt);
  if (expiresAt === undefined) return;
  const timer = setTimeout(
    () => void exchangeJwt(transport, apiKey).catch(() => undefined),
    Math.max(10_000, expiresAt - Date.now() - 300_000),
  );
  timer.unref();
}

/** The `exp` claim of a JWT in milliseconds, when it has one. */
export function jwtExpiry(jwt: string): number | undefined {
  const payload = jwt.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function extractLogprobs(output: ForwardBackwardOutput): number[][] {
  if (!output || !Array.isArray(output.loss_fn_outputs))
    throw new RemoteError('forward(_backward) returned no loss_fn_outputs');
  return output.loss_fn_outputs.map((record, index) => {
    const logprobs = record.logprobs?.data;
    if (!Array.isArray(logprobs)) throw new RemoteError(`loss_fn_outputs[${index}] has no logprobs`);
    return logprobs;
  });
}
