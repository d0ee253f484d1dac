/**
 * The state behind `turnwise serve`: sessions and their heartbeats, training clients (model ids)
 * over the one Backend, `seq_id` ordering of mutating requests (executed in `seq_id` order; a
 * resent `seq_id` with the same payload returns the original future, a different payload is 409),
 * sampling sessions pinned to a weights version, chunked forward_backward calls reassembled into
 * one backend call, and the futures of every request. Backend work runs through a readers-writer
 * job queue so sampling batches while training steps run alone.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Backend } from '../backend.js';
import type { Datum } from '../../training-types.js';
import type { SampleRequest } from '../../rollout/policy.js';
import { CheckpointError, errorMessage, TurnwiseError } from '../../errors.js';
import { writeFileAtomic } from '../../engine/atomic-write.js';
import { Random } from '../../random.js';
import { loraSpecFromTinker, type LoraSpec } from '../../engine/lora/lora-config.js';
import { checkpointArchive } from './checkpoint-archive.js';
import { decodeWireDatum } from '../tinker/datum-codec.js';
import type { ForwardBackwardInput, SampledSequence, WireSamplingParams } from '../tinker/wire-schema.js';
import { applyStops } from '../stop-conditions.js';
import { emulationProfile, type Emulation } from './emulation.js';
import { FutureStore } from './future-store.js';
import { HttpError } from './http-io.js';
import { JobScheduler } from './job-scheduler.js';
import { SeqOrdering } from './seq-ordering.js';
import {
  checkLoss,
  forwardBackwardOutput,
  logprobOutputs,
  runExact,
  runStandard,
  type DecodedLoss,
} from './wire-calls.js';

/** Options of a host. */
export interface BackendHostOptions {
  backend: Backend;
  /**
   * The untrained base weights, which `base_model` sampling serves (as a service's base-model
   * sampler does: the KL reference); without it, `base_model` samples the live weights.
   */
  baseBackend?: Backend;
  /** The base model name clients must ask for (`create_model.base_model`). */
  modelName: string;
  /** Sessions without a heartbeat for this long are dropped; default 300 s. */
  sessionTimeoutMs?: number;
  /** A `seq_id` that waits this long for its predecessor fails; default 60 s. */
  seqGapTimeoutMs?: number;
  /** Most sampling jobs run at once; default 256. */
  maxConcurrentSamples?: number;
  /** Seed of the server's default sampling seeds. */
  seed?: number;
  /**
   * JSON file mapping `tinker://` checkpoint paths to the backend's paths, read at start and
   * rewritten (atomically) after every save, so a restarted server can still load them.
   */
  checkpointIndexFile?: string;
  /** The service whose behaviour to reproduce (see emulation.ts); default turnwise's own. */
  emulation?: Emulation;
  /**
   * Honour create_model's `lora_config`: the backend trains a fresh LoRA adapter (of this alpha,
   * default 32 as SkyRL) over its weights as they were at the server's start. Without it the
   * backend trains full weights whatever the client asks (`get_info` says `is_lora: false`).
   */
  lora?: { alpha?: number };
}

/** What the sampler did, counted on the server side. */
export interface SamplingStats {
  /** `asample` requests run. */
  requests: number;
  /** Sequences returned. */
  sequences: number;
  /** Tokens the sampler generated (before stop strings applied after generation). */
  generatedTokens: number;
  /** Tokens returned to the client. */
  returnedTokens: number;
}

interface Model {
  id: string;
  sessionId: string;
  ordering: SeqOrdering;
  chunks: { data: Datum[]; sizes: number[]; requestIds: string[] } | undefined;
  /** The LoRA rank create_model asked for (echoed by weights_info). */
  loraRank: number | undefined;
}

interface SamplingSession {
  id: string;
  /** Weights version the session samples, or undefined to follow the live weights. */
  version: number | undefined;
  /** Samples `baseBackend` (a `base_model` session of a host that has one). */
  base?: boolean;
  seen: Map<number, { hash: string; requestId: string }>;
}

/** Runs the Tinker protocol's semantics over one Backend. */
export class BackendHost {
  readonly backend: Backend;
  readonly futures = new FutureStore();
  readonly scheduler: JobScheduler;
  readonly modelName: string;
  /** Bumped by every optimiser step and load; sampling sessions pin it. */
  version = 0;
  /** The profile the host answers as. */
  readonly emulation: Emulation;
  /** What the sampler generated and returned. */
  readonly samplingStats: SamplingStats = { requests: 0, sequences: 0, generatedTokens: 0, returnedTokens: 0 };
  private readonly sessions = new Map<string, number>();
  private readonly models = new Map<string, Model>();
  private readonly samplers = new Map<string, SamplingSession>();
  private readonly samplerPaths = new Map<string, number>();
  /** `tinker://` checkpoint paths to the backend's own paths (kept after a model is unloaded). */
  private readonly checkpoints = new Map<string, string>();
  /** `tinker://` checkpoint paths to the LoRA rank of the model that saved them. */
  private readonly checkpointRanks = new Map<string, number>();
  private readonly seeds: Random;
  private counter = 0;
  private readonly sweeper: NodeJS.Timeout;
  /** The LoRA the backend trains (set by create_model when `lora` is on). */
  private lora: LoraSpec | undefined;
  /** Key of the signed archive download URLs. */
  private readonly archiveKey = randomBytes(32);

  constructor(private readonly options: BackendHostOptions) {
    this.backend = options.backend;
    this.modelName = options.modelName;
    this.emulation = options.emulation ?? emulationProfile('turnwise');
    this.scheduler = new JobScheduler(options.maxConcurrentSamples ?? 256);
    this.seeds = new Random(options.seed ?? 0);
    this.sweeper = setInterval(() => this.dropStaleSessions(), 5_000);
    this.sweeper.unref();
    if (options.checkpointIndexFile && existsSync(options.checkpointIndexFile)) {
      let index: unknown;
      try {
        index = JSON.parse(readFileSync(options.checkpointIndexFile, 'utf8'));
      } catch (error) {
        throw new CheckpointError(
          `checkpoint index ${options.checkpointIndexFile} is not valid JSON: ${errorMessage(error)}`,
        );
      }
      for (const [path, written] of Object.entries(index as Record<string, unknown>))
        if (typeof written === 'string') this.checkpoints.set(path, written);
    }
  }

  /** Opens a session. */
  createSession(): string {
    const id = `session-${++this.counter}`;
    this.sessions.set(id, Date.now());
    return id;
  }

  /** Records a heartbeat; unknown sessions are 404. */
  heartbeat(sessionId: string): void {
    this.requireSession(sessionId);
    this.sessions.set(sessionId, Date.now());
  }

  /**
   * Creates a training client over the backend; the future resolves to its model id. Emulating
   * SkyRL, the model id is known at once but the model is created by a job of the queue, and a
   * base model this server does not serve fails the future instead of the request. With `lora` on,
   * the backend starts over from the base: a fresh adapter of the request's `lora_config`, or full
   * weights when it asks for rank 0 or none.
   */
  createModel(
    sessionId: string,
    baseModel: string,
    loraConfig?: { rank: number; seed?: number; train_attn?: boolean; train_mlp?: boolean; train_unembed?: boolean },
  ): { requestId: string; modelId: string } {
    this.requireSession(sessionId);
    const unknownBase =
      `base_model ${JSON.stringify(baseModel)} is not served here; ` +
      `this server trains ${JSON.stringify(this.modelName)}`;
    if (baseModel !== this.modelName && !this.emulation.immediateModelId) throw new HttpError(400, unknownBase);
    const id = `model-${++this.counter}`;
    const requestId = this.futures.create('/api/v1/create_model');
    const spec =
      this.options.lora && loraConfig && loraConfig.rank > 0
        ? loraSpecFromTinker(loraConfig, this.options.lora.alpha)
        : undefined;
    // With --lora every new model starts from the base: a fresh adapter, or full weights (rank 0 or none).
    const switchLora = this.options.lora !== undefined && (spec !== undefined || this.lora !== undefined);
    const create = async (): Promise<void> => {
      if (baseModel !== this.modelName) throw new TurnwiseError(`could not create ${id}: ${unknownBase}`);
      if (switchLora) {
        if (!this.backend.configureLora)
          throw new TurnwiseError(`the ${this.backend.name} backend cannot train LoRA adapters`);
        await this.backend.configureLora(spec);
        this.lora = spec;
        this.version++;
      }
      this.models.set(id, {
        id,
        sessionId,
        ordering: new SeqOrdering(id, this.options.seqGapTimeoutMs ?? 60_000),
        chunks: undefined,
        loraRank: loraConfig?.rank,
      });
      this.futures.resolve(requestId, { model_id: id, type: 'create_model' });
    };
    if (!this.emulation.immediateModelId && !switchLora) void create();
    else
      this.scheduler
        .enqueue(true, create)
        .catch((error) => this.futures.fail(requestId, errorMessage(error), categoryOf(error)));
    return { requestId, modelId: id };
  }

  /**
   * `weights_info` of a checkpoint this server saved: its base model and the LoRA rank the model
   * was created with (the SDK's `create_training_client_from_state` creates a model of that rank,
   * then loads the state). The server trains every weight whatever the rank; the rank is echoed.
   */
  weightsInfo(tinkerPath: string): Record<string, unknown> {
    if (!this.checkpoints.has(tinkerPath))
      throw new HttpError(
        404,
        `checkpoint ${tinkerPath} is not known to this server; save_weights returns the paths it knows`,
      );
    const rank = this.checkpointRanks.get(tinkerPath);
    return {
      base_model: this.modelName,
      is_lora: rank !== undefined && rank > 0,
      lora_rank: rank ?? null,
      train_unembed: null,
      train_mlp: null,
      train_attn: null,
    };
  }

  /** Model info. */
  info(modelId: string): Record<string, unknown> {
    const model = this.requireModel(modelId);
    return {
      type: 'get_info',
      model_id: model.id,
      model_data: { model_name: this.modelName, arch: this.backend.name },
      model_name: this.modelName,
      is_lora: this.lora !== undefined,
      ...(this.lora ? { lora_rank: this.lora.rank } : {}),
    };
  }

  /** Forgets a model id. */
  unloadModel(modelId: string): string {
    this.requireModel(modelId);
    this.models.delete(modelId);
    const requestId = this.futures.create('/api/v1/unload_model');
    this.futures.resolve(requestId, { model_id: modelId, type: 'unload_model' });
    return requestId;
  }

  /** Validates and queues a forward or forward_backward request. */
  submitForward(
    modelId: string,
    seqId: number | undefined,
    input: ForwardBackwardInput,
    forwardOnly: boolean,
    rawBody: string,
  ): string {
    const model = this.requireModel(modelId);
    const field = forwardOnly ? 'forward_input' : 'forward_backward_input';
    if (input.turnwise && !this.emulation.turnwiseExtension) {
      throw new HttpError(
        400,
        `${field}.turnwise: this server emulates ${this.emulation.profile}, which has no turnwise extension; ` +
          `a client must send it only to servers whose client/config advertises turnwise_extensions`,
      );
    }
    const decoded: DecodedLoss = {
      lossFn: input.loss_fn,
      config: input.loss_fn_config ?? {},
      extension: input.turnwise,
    };
    checkLoss(decoded, forwardOnly, this.emulation.lossErrorStatus);
    const data = input.data.map((datum, index) => this.decodeDatum(datum, index));
    const explicitWeights = input.data.map((datum) => datum.loss_fn_inputs.weights !== undefined);
    const extension = input.turnwise;
    return this.sequenced(
      model,
      `/api/v1/${forwardOnly ? 'forward' : 'forward_backward'}`,
      seqId,
      rawBody,
      async (requestId) => {
        if (forwardOnly) {
          const logprobs = await this.backend.forward(data, { temperature: extension?.temperature ?? 1 });
          this.futures.resolve(requestId, {
            loss_fn_output_type: 'ArrayRecord',
            loss_fn_outputs: logprobOutputs(logprobs),
            metrics: {},
          });
          return;
        }
        if (extension && extension.chunk.count > 1) return this.runChunk(model, requestId, data, decoded);
        if (model.chunks)
          this.abandonChunks(model, 'a forward_backward arrived before the last chunk of the previous call');
        const result = extension
          ? await runExact(this.backend, data, extension.loss!, extension.temperature)
          : await runStandard(this.backend, data, decoded, explicitWeights);
        this.futures.resolve(requestId, forwardBackwardOutput(result, result.logprobs, extension !== undefined));
      },
    );
  }

  /** Queues an optimiser step. */
  submitOptimStep(
    modelId: string,
    seqId: number | undefined,
    params: {
      learning_rate: number;
      beta1: number;
      beta2: number;
      eps: number;
      weight_decay: number;
      grad_clip_norm: number;
    },
    rawBody: string,
  ): string {
    const model = this.requireModel(modelId);
    return this.sequenced(model, '/api/v1/optim_step', seqId, rawBody, async (requestId) => {
      if (model.chunks)
        this.abandonChunks(model, 'optim_step arrived before the last chunk of a forward_backward call');
      const metrics = await this.backend.optimStep({
        learningRate: params.learning_rate,
        beta1: params.beta1,
        beta2: params.beta2,
        eps: params.eps,
        weightDecay: params.weight_decay,
        // SkyRL's AdamParams has no gradient clip: the field is ignored there.
        gradClipNorm: this.emulation.honorsGradClip ? params.grad_clip_norm : 0,
      });
      this.version++;
      this.futures.resolve(requestId, { type: 'optim_step', metrics });
    });
  }

  /** Queues a save of weights and optimiser state. */
  submitSave(modelId: string, seqId: number | undefined, name: string | undefined, rawBody: string): string {
    const model = this.requireModel(modelId);
    return this.sequenced(model, '/api/v1/save_weights', seqId, rawBody, async (requestId) => {
      const checkpoint = name ?? `checkpoint-${seqId ?? ++this.counter}`;
      const written = await this.backend.save(checkpoint);
      const path = `tinker://${model.id}/weights/${checkpoint}`;
      await this.remember(path, written);
      if (model.loraRank !== undefined) this.checkpointRanks.set(path, model.loraRank);
      this.futures.resolve(requestId, { type: 'save_weights', path, turnwise_path: written });
    });
  }

  /** Queues a load of saved weights (a `tinker://` path of this server, or a backend path). */
  submitLoad(modelId: string, seqId: number | undefined, path: string, optimizer: boolean, rawBody: string): string {
    const model = this.requireModel(modelId);
    return this.sequenced(model, '/api/v1/load_weights', seqId, rawBody, async (requestId) => {
      let target = path;
      if (path.startsWith('tinker://')) {
        const known = this.checkpoints.get(path);
        if (!known)
          throw new TurnwiseError(
            `checkpoint ${path} is not known to this server; save_weights returns the paths it knows`,
          );
        target = known;
      }
      await this.backend.load(target, { optimizer });
      this.version++;
      this.futures.resolve(requestId, { type: 'load_weights', path, model_id: model.id });
    });
  }

  /** Queues a sampler snapshot: ephemeral (a sampling session id) or named (a sampler path). */
  submitSaveForSampler(modelId: string, seqId: number | undefined, name: string | undefined, rawBody: string): string {
    const model = this.requireModel(modelId);
    return this.sequenced(model, '/api/v1/save_weights_for_sampler', seqId, rawBody, async (requestId) => {
      if (name !== undefined) {
        const path = `tinker://${model.id}/sampler_weights/${name}`;
        // Named sampler weights are kept as files too, for their archive (`turnwise export`).
        await this.remember(path, await this.backend.save(`sampler-${name}`));
        this.samplerPaths.set(path, this.version);
        this.futures.resolve(requestId, { type: 'save_weights_for_sampler', path });
        return;
      }
      const session = this.newSampler(this.version);
      this.futures.resolve(requestId, { type: 'save_weights_for_sampler', sampling_session_id: session.id });
    });
  }

  /** Creates a sampling session on the live weights (`base_model`) or a saved sampler path. */
  createSamplingSession(sessionId: string, baseModel: string | undefined, modelPath: string | undefined): string {
    this.requireSession(sessionId);
    if (modelPath !== undefined) {
      const version = this.samplerPaths.get(modelPath);
      if (version === undefined)
        throw new HttpError(404, `model_path ${modelPath} is not a sampler checkpoint of this server`);
      return this.newSampler(version).id;
    }
    if (baseModel !== undefined && baseModel !== this.modelName)
      throw new HttpError(
        400,
        `base_model ${JSON.stringify(baseModel)} is not served here; expected ${JSON.stringify(this.modelName)}`,
      );
    return this.newSampler(undefined, baseModel !== undefined).id;
  }

  /** Whether a sampling session exists. */
  hasSampler(id: string): boolean {
    return this.samplers.has(id);
  }

  /** Validates and queues a sampling request; returns the future's id. */
  submitSample(
    body: {
      sampling_session_id?: string;
      base_model?: string;
      model_path?: string;
      seq_id?: number;
      num_samples: number;
      prompt_logprobs?: boolean;
      sampling_params: WireSamplingParams;
    },
    prompt: number[],
    rawBody: string,
  ): string {
    let sampler: SamplingSession;
    if (body.sampling_session_id !== undefined) {
      const found = this.samplers.get(body.sampling_session_id);
      if (!found)
        throw new HttpError(
          404,
          `sampling_session_id ${body.sampling_session_id} is unknown; ` +
            `create it with save_weights_for_sampler or create_sampling_session`,
        );
      sampler = found;
    } else if (body.model_path !== undefined) {
      const version = this.samplerPaths.get(body.model_path);
      if (version === undefined)
        throw new HttpError(404, `model_path ${body.model_path} is not a sampler checkpoint of this server`);
      sampler = { id: 'path', version, seen: new Map() };
    } else if (body.base_model !== undefined) {
      if (body.base_model !== this.modelName)
        throw new HttpError(
          400,
          `base_model ${JSON.stringify(body.base_model)} is not ` +
            `served here; expected ${JSON.stringify(this.modelName)}`,
        );
      sampler = { id: 'live', version: undefined, seen: new Map(), base: true };
    } else {
      throw new HttpError(400, 'asample needs sampling_session_id, model_path or base_model');
    }
    this.checkTokens(prompt, 'prompt');
    if (prompt.length === 0) throw new HttpError(400, 'prompt has no tokens');
    if (body.seq_id !== undefined && sampler.id !== 'path' && sampler.id !== 'live') {
      const previous = sampler.seen.get(body.seq_id);
      const hash = digest(rawBody);
      if (previous) {
        if (previous.hash !== hash)
          throw new HttpError(
            409,
            `sampling seq_id ${body.seq_id} of ${sampler.id} was reused with a different payload`,
          );
        return previous.requestId;
      }
    }
    const params = body.sampling_params;
    const { during, after } = this.samplerStops(params.stop);
    const requestId = this.futures.create('/api/v1/asample');
    if (body.seq_id !== undefined) sampler.seen.set(body.seq_id, { hash: digest(rawBody), requestId });
    const baseSeed = params.seed ?? this.seeds.nextUint32();
    const exclusive = body.prompt_logprobs === true;
    this.scheduler
      .enqueue(exclusive, async () => {
        if (sampler.version !== undefined && sampler.version !== this.version) {
          throw new TurnwiseError(
            `sampling session ${sampler.id} holds the weights of version ${sampler.version}, ` +
              `but optim_step or load_weights has since moved the model to ` +
              `version ${this.version}; call save_weights_for_sampler again`,
          );
        }
        const backend = (sampler.base && this.options.baseBackend) || this.backend;
        const policy = backend.policy();
        const requests: SampleRequest[] = Array.from({ length: body.num_samples }, (_, index) => ({
          tokens: prompt,
          seed: (baseSeed + index) >>> 0,
          params: {
            temperature: params.temperature,
            topK: params.top_k,
            topP: params.top_p,
            maxTokens: params.max_tokens,
            ...during,
          },
        }));
        const generated = await Promise.all(requests.map((request) => policy.sample(request)));
        // Stop strings a sampler applies only once it has generated (SkyRL's JAX sampler).
        const results =
          after.length === 0
            ? generated
            : generated.map((result) => applyStops(result, { stop: after }, backend.tokenizer));
        const stats = this.samplingStats;
        stats.requests++;
        stats.sequences += results.length;
        for (const [index, result] of results.entries()) {
          stats.generatedTokens += generated[index]!.tokens.length;
          stats.returnedTokens += result.tokens.length;
        }
        const sequences: SampledSequence[] = results.map((result) => ({
          stop_reason: result.finishReason,
          tokens: result.tokens,
          logprobs: result.logprobs,
        }));
        let promptLogprobs: (number | null)[] | null = null;
        if (body.prompt_logprobs) {
          const [row] = await backend.forward(
            [
              {
                inputTokens: prompt.slice(0, -1),
                targetTokens: prompt.slice(1),
                weights: prompt.slice(1).map(() => 1),
              },
            ],
            { temperature: 1 },
          );
          promptLogprobs = [null, ...row!];
        }
        this.futures.resolve(requestId, { type: 'sample', sequences, prompt_logprobs: promptLogprobs });
      })
      .catch((error) => this.futures.fail(requestId, errorMessage(error), categoryOf(error)));
    return requestId;
  }

  /**
   * The stops of a request as the emulated sampler applies them: `during` generation (strings and
   * token ids) and `after` it (strings, SkyRL). Refuses a stop list the emulated service refuses.
   */
  private samplerStops(stop: WireSamplingParams['stop']): {
    during: { stop: string[]; stopTokenIds: number[] };
    after: string[];
  } {
    const list = stop == null ? [] : Array.isArray(stop) ? stop : [stop];
    const strings = list.filter((item): item is string => typeof item === 'string');
    const ids = list.filter((item): item is number => typeof item === 'number');
    const mode = this.emulation.sampler;
    if (mode === 'turnwise') return { during: { stop: strings, stopTokenIds: ids }, after: [] };
    if (strings.length > 0 && ids.length > 0)
      throw new HttpError(400, 'stop must be either all integers (token IDs) or all strings, not mixed');
    if (mode === 'skyrl') {
      if (typeof stop === 'string')
        throw new HttpError(
          422,
          'sampling_params.stop: Input should be a valid list (SkyRL takes a list of strings or of token ids)',
        );
      // No end-of-sequence stop of its own: without token ids the JAX sampler runs to max_tokens.
      return { during: { stop: [], stopTokenIds: ids }, after: strings };
    }
    // Hosted: a stop list replaces the implicit end-of-sequence stop; `null` keeps it, `[]` drops it.
    const eos = this.backend.tokenizer.eosTokenId;
    const implicit = stop == null && eos !== undefined ? [eos] : [];
    return { during: { stop: strings, stopTokenIds: [...ids, ...implicit] }, after: [] };
  }

  /**
   * The signed download path of a checkpoint's archive (what `GET .../archive` redirects to, valid
   * for `ttlMs`), for a `tinker://<model>/(weights|sampler_weights)/<name>` path this server saved.
   */
  archiveDownloadPath(tinkerPath: string, ttlMs = 2 * 3600_000): { path: string; expires: Date } {
    if (!this.checkpoints.has(tinkerPath))
      throw new HttpError(404, `checkpoint ${tinkerPath} is not known to this server; save it first`);
    const expires = Date.now() + ttlMs;
    const [model, kind, name] = tinkerPath.slice('tinker://'.length).split('/') as [string, string, string];
    const query = `expires=${expires}&signature=${this.sign(tinkerPath, expires)}`;
    const path = `/api/v1/training_runs/${model}/checkpoints/${kind}/${encodeURIComponent(name)}/download?${query}`;
    return { path, expires: new Date(expires) };
  }

  /** Whether a download URL's signature is this server's and not expired. */
  archiveSignatureValid(tinkerPath: string, query: URLSearchParams): boolean {
    const expires = Number(query.get('expires'));
    const given = Buffer.from(query.get('signature') ?? '', 'utf-8');
    const wanted = Buffer.from(this.sign(tinkerPath, expires), 'utf-8');
    return (
      Number.isFinite(expires) &&
      expires > Date.now() &&
      given.length === wanted.length &&
      timingSafeEqual(given, wanted)
    );
  }

  /** The tar archive of a saved checkpoint (a PEFT adapter when it holds one, else its HF files). */
  archive(tinkerPath: string): Promise<Buffer> {
    const written = this.checkpoints.get(tinkerPath);
    if (!written) throw new HttpError(404, `checkpoint ${tinkerPath} is not known to this server; save it first`);
    return checkpointArchive(written, tinkerPath);
  }

  /** A fresh default sampling seed (for requests that give none). */
  drawSeed(): number {
    return this.seeds.nextUint32();
  }

  /** Runs work on the sampling side of the scheduler (OpenAI routes). */
  shared<T>(work: () => Promise<T>): Promise<T> {
    return this.scheduler.enqueue(false, work);
  }

  /** Refuses token ids outside the vocabulary with 400. */
  checkTokens(tokens: number[], what: string): void {
    const vocab = this.backend.tokenizer.vocabSize;
    const bad = tokens.find((token) => token >= vocab);
    if (bad !== undefined)
      throw new HttpError(400, `${what} holds token id ${bad}, outside the vocabulary [0, ${vocab})`);
  }

  /** Stops timers and fails nothing: pending futures stay pending. */
  close(): void {
    clearInterval(this.sweeper);
    this.futures.close();
  }

  private decodeDatum(wire: ForwardBackwardInput['data'][number], index: number): Datum {
    let datum: Datum;
    try {
      datum = decodeWireDatum(wire, index);
    } catch (error) {
      throw new HttpError(400, errorMessage(error));
    }
    this.checkTokens(datum.inputTokens, `data[${index}].model_input`);
    this.checkTokens(datum.targetTokens, `data[${index}].loss_fn_inputs.target_tokens`);
    return datum;
  }

  private runChunk(model: Model, requestId: string, data: Datum[], decoded: DecodedLoss): Promise<void> | void {
    const extension = decoded.extension!;
    const { index, count } = extension.chunk;
    if (index === 0) {
      if (model.chunks) this.abandonChunks(model, 'a new chunked forward_backward started');
      model.chunks = { data: [], sizes: [], requestIds: [] };
    }
    const chunks = model.chunks;
    if (!chunks || chunks.requestIds.length !== index) {
      this.futures.fail(
        requestId,
        `chunk ${index} of ${count} arrived out of order (expected chunk ${chunks?.requestIds.length ?? 0})`,
        'user',
      );
      return;
    }
    chunks.data.push(...data);
    chunks.sizes.push(data.length);
    chunks.requestIds.push(requestId);
    if (index < count - 1) return;
    model.chunks = undefined;
    return runExact(this.backend, chunks.data, extension.loss!, extension.temperature).then(
      (result) => {
        let offset = 0;
        chunks.requestIds.forEach((id, chunk) => {
          const size = chunks.sizes[chunk]!;
          this.futures.resolve(id, forwardBackwardOutput(result, result.logprobs.slice(offset, offset + size), true));
          offset += size;
        });
      },
      (error) => {
        for (const id of chunks.requestIds) this.futures.fail(id, errorMessage(error), categoryOf(error));
      },
    );
  }

  private abandonChunks(model: Model, reason: string): void {
    for (const id of model.chunks?.requestIds ?? [])
      this.futures.fail(id, `incomplete chunked forward_backward abandoned: ${reason}`, 'user');
    model.chunks = undefined;
  }

  /** Admits a mutating request in `seq_id` order and runs it alone on the backend. */
  private sequenced(
    model: Model,
    path: string,
    seqId: number | undefined,
    rawBody: string,
    work: (requestId: string) => Promise<void> | void,
  ): string {
    return model.ordering.admit(seqId, {
      hash: digest(rawBody),
      createFuture: () => this.futures.create(path),
      start: (requestId) => {
        this.scheduler
          .enqueue(true, async () => work(requestId))
          .catch((error) => this.futures.fail(requestId, errorMessage(error), categoryOf(error)));
      },
      fail: (requestId, message) => this.futures.fail(requestId, message, 'user'),
    });
  }

  /** Records a checkpoint's path (persisted in the index file when there is one). */
  private async remember(tinkerPath: string, written: string): Promise<void> {
    this.checkpoints.set(tinkerPath, written);
    if (this.options.checkpointIndexFile)
      await writeFileAtomic(
        this.options.checkpointIndexFile,
        JSON.stringify(Object.fromEntries(this.checkpoints), null, 1),
      );
  }

  private sign(tinkerPath: string, expires: number): string {
    return createHmac('sha256', this.archiveKey).update(`${tinkerPath}\n${expires}`).digest('hex');
  }

  private newSampler(version: number | undefined, base = false): SamplingSession {
    const session: SamplingSession = { id: `sampler-${++this.counter}`, version, seen: new Map(), base };
    this.samplers.set(session.id, session);
    return session;
  }

  private requireSession(sessionId: string): void {
    if (!this.sessions.has(sessionId))
      throw new HttpError(
        404,
        `session_id ${sessionId} is unknown or expired (no heartbeat for ` +
          `${(this.options.sessionTimeoutMs ?? 300_000) / 1000} s); create a new session`,
      );
  }

  private requireModel(modelId: string): Model {
    const model = this.models.get(modelId);
    if (!model) throw new HttpError(404, `model_id ${modelId} is unknown or was unloaded`);
    return model;
  }

  private dropStaleSessions(): void {
    const timeout = this.options.sessionTimeoutMs ?? 300_000;
    const now = Date.now();
    for (const [id, last] of this.sessions) {
      if (now - last <= timeout) continue;
      this.sessions.delete(id);
      for (const [modelId, model] of this.models) if (model.sessionId === id) this.models.delete(modelId);
    }
  }
}

/** Bad input (the client's fault) or a failure of the server. */
function categoryOf(error: unknown): 'user' | 'server' {
  return error instanceof TurnwiseError || error instanceof HttpError ? 'user' : 'server';
}

function digest(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
