/**
 * The one place a training config's `backend` section becomes a Backend. `local`: the embedded CPU
 * engine loaded from a checkpoint directory (the warm-started base or a run checkpoint). `tinker`: a
 * TinkerBackend on a remote Tinker-protocol service, training a LoRA of `backend.baseModel`, with
 * the base model's tokenizer and chat template read from `backend.tokenizerDir` and the API key read
 * from the environment variable that `backend.apiKeyEnv` names (the key is never part of the
 * config). Also where a run's starting weights come from: the warm start for `local`, the remote
 * base model (warm start skipped) for `tinker`. Used by `turnwise train`, `eval` and `experiment`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { TinkerBackend } from '../backends/tinker/tinker-backend.js';
import { loadTokenizer } from '../engine/tokenizer/hf-tokenizer.js';
import { ConfigError, RemoteError, errorMessage } from '../errors.js';
import type { ChatRenderer } from '../rollout/chat-renderer.js';
import { ChatTemplateRenderer } from '../rollout/chat-template-renderer.js';
import type { TrainConfig } from './config.js';
import { createEngineBackend } from './engine-backend.js';
import type { SearchQaTask } from './search-qa-task.js';
import { warmStart, type WarmStartResult } from './warm-start.js';

/** A Backend plus the per-conversation renderer factory the rollout loop uses. */
export type TrainingBackend = Backend & { createRenderer: () => ChatRenderer };

/** Options of `makeBackend`. */
export interface MakeBackendOptions {
  /**
   * The weights to start from: a checkpoint directory for `local` (required), or a path the service
   * saved (`tinker://...`) for `tinker`, where none means the untrained LoRA of `backend.baseModel`.
   */
  weightsFrom?: string;
  /** Where a local backend's `save(name)` writes checkpoints (a tinker service keeps its own). */
  checkpointDirectory: string;
  /** KV-cache slots of the local sampler (rollouts decoded at once plus cached sessions). */
  samplerSlots?: number;
  /** Environment the API key is read from (default `process.env`). */
  env?: Record<string, string | undefined>;
}

/** The API key of a tinker config from the environment; a ConfigError naming the variable when unset. */
export function tinkerApiKey(config: TrainConfig, env: Record<string, string | undefined> = process.env): string | undefined {
  const name = config.backend.apiKeyEnv;
  if (name === '') return undefined;
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(
      `backend.kind is tinker and backend.apiKeyEnv names the environment variable ${name}, which is not set; ` +
        `export ${name}=<your API key>, name another variable with --backend.apiKeyEnv=NAME, or use --backend.apiKeyEnv= (empty) for a server that needs no key`,
    );
  }
  return value.trim();
}

/**
 * Checks what can be checked before any data is built or weights are loaded: the API key variable
 * and the tokenizer files of a tinker config (nothing for `local`).
 */
export function checkBackendEnvironment(config: TrainConfig, env: Record<string, string | undefined> = process.env): void {
  if (config.backend.kind !== 'tinker') return;
  tinkerApiKey(config, env);
  tinkerTokenizerFiles(config);
}

function tinkerTokenizerFiles(config: TrainConfig): { dir: string; template: string } {
  const dir = resolve(config.backend.tokenizerDir);
  const tokenizerFile = join(dir, 'tokenizer.json');
  const configFile = join(dir, 'tokenizer_config.json');
  const where = `backend.tokenizerDir ${JSON.stringify(config.backend.tokenizerDir)}`;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`${where} is not a directory; expected the base model's tokenizer.json and tokenizer_config.json`);
  if (!existsSync(tokenizerFile)) throw new ConfigError(`${where} has no tokenizer.json; expected the base model's Hugging Face tokenizer files`);
  if (!existsSync(configFile)) throw new ConfigError(`${where} has no tokenizer_config.json; expected the base model's, with its chat_template`);
  let template: unknown;
  try {
    template = (JSON.parse(readFileSync(configFile, 'utf8')) as { chat_template?: unknown }).chat_template;
  } catch (error) {
    throw new ConfigError(`${where}: tokenizer_config.json is not valid JSON: ${errorMessage(error)}`);
  }
  // Some models keep the template beside the config; a list of named templates uses "default".
  if (Array.isArray(template)) template = (template as { name?: string; template?: string }[]).find((entry) => entry.name === 'default')?.template;
  if (typeof template !== 'string' && existsSync(join(dir, 'chat_template.jinja'))) template = readFileSync(join(dir, 'chat_template.jinja'), 'utf8');
  if (typeof template !== 'string' || template.trim() === '') {
    throw new ConfigError(`${where}: tokenizer_config.json has no chat_template (nor is there a chat_template.jinja); the base model's template is needed to render conversations exactly as it was trained`);
  }
  return { dir, template };
}

/** Builds the backend a config names, holding the weights of `options.weightsFrom`. */
export async function makeBackend(config: TrainConfig, options: MakeBackendOptions): Promise<TrainingBackend> {
  if (config.backend.kind === 'local') {
    if (options.weightsFrom === undefined || options.weightsFrom === '') {
      throw new ConfigError('backend.kind local needs a checkpoint directory to start from (the warm-started base or a run checkpoint)');
    }
    return createEngineBackend({ tokenizerDir: options.weightsFrom, weightsFrom: options.weightsFrom, checkpointDirectory: options.checkpointDirectory, samplerSlots: options.samplerSlots });
  }
  return connectTinker(config, options);
}

async function connectTinker(config: TrainConfig, options: MakeBackendOptions): Promise<TrainingBackend> {
  const settings = config.backend;
  if (options.weightsFrom !== undefined && existsSync(options.weightsFrom)) {
    throw new ConfigError(
      `${JSON.stringify(options.weightsFrom)} is a local checkpoint directory, but backend.kind is tinker: the remote service starts from backend.baseModel ` +
        `(${settings.baseModel}) or from a path it saved itself (tinker://...); a locally warm-started base cannot be uploaded`,
    );
  }
  const apiKey = tinkerApiKey(config, options.env);
  const files = tinkerTokenizerFiles(config);
  const tokenizer = await loadTokenizer(files.dir);
  const rendererFactory = ChatTemplateRenderer.factory({ tokenizer, template: files.template });
  let backend: TinkerBackend;
  try {
    backend = await TinkerBackend.connect({
      baseUrl: settings.baseUrl,
      apiKey,
      baseModel: settings.baseModel,
      loraRank: settings.loraRank,
      tokenizer,
      renderer: rendererFactory(),
      rendererFactory,
      server: settings.capabilities,
      heartbeatIntervalMs: settings.heartbeatSeconds * 1000,
      retry: { maxAttempts: settings.retryAttempts },
      timeoutMs: settings.requestTimeoutSeconds * 1000,
      tags: ['turnwise', config.advantage.kind],
      userMetadata: { turnwise_run: config.name, seed: String(config.seed) },
    });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const status = error instanceof RemoteError ? error.status : undefined;
    throw new RemoteError(`could not open a training client of ${settings.baseModel} at backend.baseUrl ${settings.baseUrl}: ${errorMessage(error)}`, status);
  }
  // A server detected as hosted or SkyRL trains at temperature 1 (the config checks an explicit preset).
  if (!backend.capabilities.turnwiseExtensions && config.rl.temperature !== 1) {
    await backend.close();
    throw new ConfigError(
      `rl.temperature is ${config.rl.temperature}, but the ${backend.capabilities.server} server at ${settings.baseUrl} computes training logprobs at temperature 1; set --rl.temperature=1`,
    );
  }
  if (options.weightsFrom !== undefined && options.weightsFrom !== '') await backend.load(options.weightsFrom, { optimizer: false });
  return backend;
}

/** Where a run starts: `weightsFrom` for `makeBackend` (undefined = the remote base model). */
export interface StartingPoint {
  weightsFrom: string | undefined;
  /** A short description for logs and eval labels. */
  label: string;
  /** The warm start that made the base (local, when one ran or was reused). */
  warm?: WarmStartResult;
}

/**
 * The starting weights of a run: `base` when given (a checkpoint directory for local, a service
 * path for tinker), else the cached warm start (local) or the remote base model (tinker, where the
 * warm start is skipped).
 */
export async function startingPoint(config: TrainConfig, task: SearchQaTask, options: { base?: string; log?: (message: string) => void } = {}): Promise<StartingPoint> {
  const log = options.log ?? ((message: string) => console.error(message));
  if (config.backend.kind === 'tinker') {
    const { baseModel, loraRank, baseUrl } = config.backend;
    if (options.base !== undefined && existsSync(options.base)) {
      throw new ConfigError(`--base ${JSON.stringify(options.base)} is a local checkpoint directory, but backend.kind is tinker; give a path the service saved (tinker://...) or leave --base out to start from backend.baseModel`);
    }
    if (options.base !== undefined) return { weightsFrom: options.base, label: options.base };
    log(`[backend] tinker: starting from ${baseModel} (LoRA rank ${loraRank}) at ${baseUrl}; the warm start (warmStart.*, model.*) is skipped`);
    return { weightsFrom: undefined, label: `${baseModel} (base)` };
  }
  const unused = (['baseUrl', 'baseModel', 'tokenizerDir'] as const).filter((key) => config.backend[key] !== '');
  if (unused.length > 0) log(`[backend] backend.kind is local, so ${unused.map((key) => `backend.${key}`).join(', ')} ${unused.length > 1 ? 'are' : 'is'} not used (--backend.kind=tinker trains on the service)`);
  if (options.base !== undefined) return { weightsFrom: resolve(options.base), label: resolve(options.base) };
  const warm = await warmStart({ config, task, log });
  return { weightsFrom: warm.baseDir, label: warm.baseDir, warm };
}
