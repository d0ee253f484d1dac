/**
 * The one place a `backend` config section becomes a Backend. `local`: the embedded CPU engine
 * loaded from a checkpoint directory (a task's base, such as the search-QA warm start, or a run
 * checkpoint). `tinker`: a TinkerBackend on a remote Tinker-protocol service, training a LoRA of
 * `backend.baseModel`, with the base model's tokenizer and chat template read from
 * `backend.tokenizerDir` and the API key read from the environment variable that
 * `backend.apiKeyEnv` names (the key is never part of the config).
 */
import { existsSync } from 'node:fs';
import { ConfigError, RemoteError, errorMessage } from '../errors.js';
import { loadTokenizer } from '../engine/tokenizer/hf-tokenizer.js';
import { ChatTemplateRenderer } from '../rollout/chat-template-renderer.js';
import type { Backend } from './backend.js';
import { tinkerApiKey, tinkerTokenizerFiles, type BackendConfig } from './backend-config.js';
import { createLocalBackend } from './create-local-backend.js';
import { TinkerBackend } from './tinker/tinker-backend.js';

/** Options of `makeBackend`. */
export interface MakeBackendOptions {
  /**
   * The weights to start from: a checkpoint directory for `local` (required), or a path the service
   * saved (`tinker://...`) for `tinker`, where none means the untrained LoRA of `backend.baseModel`.
   */
  weightsFrom?: string;
  /** Where a local backend's `save(name)` writes checkpoints (a tinker service keeps its own). */
  checkpointDirectory: string;
  /** KV-cache slots of the local sampler (rollouts decoded at once plus cached sessions; default 128). */
  samplerSlots?: number;
  /** The temperature the run samples at: a service that trains at temperature 1 refuses another. */
  samplingTemperature?: number;
  /** Tags and string metadata the service shows for this session (tinker). */
  tags?: string[];
  userMetadata?: Record<string, string>;
  /** Environment the API key is read from (default `process.env`). */
  env?: Record<string, string | undefined>;
}

/** Builds the backend a config section names, holding the weights of `options.weightsFrom`. */
export async function makeBackend(backend: BackendConfig, options: MakeBackendOptions): Promise<Backend> {
  if (backend.kind === 'local') {
    if (options.weightsFrom === undefined || options.weightsFrom === '') {
      throw new ConfigError(
        'backend.kind local needs a checkpoint directory to start from (a base ' +
          'such as the search-QA warm start, --base DIR, or a run checkpoint)',
      );
    }
    return createLocalBackend({
      checkpoint: options.weightsFrom,
      optimizer: false,
      tokenizerDir: options.weightsFrom,
      checkpointDirectory: options.checkpointDirectory,
      samplerSlots: options.samplerSlots ?? 128,
    });
  }
  return connectTinker(backend, options);
}

async function connectTinker(settings: BackendConfig, options: MakeBackendOptions): Promise<TinkerBackend> {
  if (options.weightsFrom !== undefined && existsSync(options.weightsFrom)) {
    throw new ConfigError(
      `${JSON.stringify(options.weightsFrom)} is a local checkpoint directory, ` +
        `but backend.kind is tinker: the remote service starts from backend.baseModel ` +
        `(${settings.baseModel}) or from a path it saved itself (tinker://...); ` +
        `a locally warm-started base cannot be uploaded`,
    );
  }
  const apiKey = tinkerApiKey(settings, options.env);
  const files = tinkerTokenizerFiles(settings);
  const tokenizer = await loadTokenizer(files.dir);
  let backend: TinkerBackend;
  try {
    backend = await TinkerBackend.connect({
      baseUrl: settings.baseUrl,
      apiKey,
      baseModel: settings.baseModel,
      loraRank: settings.loraRank,
      tokenizer,
      renderer: new ChatTemplateRenderer({ tokenizer, template: files.template }),
      server: settings.capabilities,
      heartbeatIntervalMs: settings.heartbeatSeconds * 1000,
      retry: { maxAttempts: settings.retryAttempts },
      timeoutMs: settings.requestTimeoutSeconds * 1000,
      requestDeadlineMs: settings.requestDeadlineSeconds * 1000,
      futureDeadlineMs: settings.futureDeadlineSeconds * 1000,
      pollTimeoutMs: settings.pollTimeoutSeconds * 1000,
      tags: options.tags,
      userMetadata: options.userMetadata,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const status = error instanceof RemoteError ? error.status : undefined;
    throw new RemoteError(
      `could not open a training client of ${settings.baseModel} at ` +
        `backend.baseUrl ${settings.baseUrl}: ${errorMessage(error)}`,
      status,
    );
  }
  // A server detected as hosted or SkyRL trains at temperature 1 (the config checks an explicit preset).
  const temperature = options.samplingTemperature;
  if (!backend.capabilities.turnwiseExtensions && temperature !== undefined && temperature !== 1) {
    await backend.close();
    throw new ConfigError(
      `rl.temperature is ${temperature}, but the ${backend.capabilities.server} server at ` +
        `${settings.baseUrl} computes training logprobs at temperature 1; set --rl.temperature=1`,
    );
  }
  if (options.weightsFrom !== undefined && options.weightsFrom !== '')
    await backend.load(options.weightsFrom, { optimizer: false });
  return backend;
}
