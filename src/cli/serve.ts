/**
 * `turnwise serve`: the Tinker HTTP protocol and OpenAI-compatible sampling in front of a Backend,
 * so the Tinker client (and Python Tinker SDK scripts) can train it, several rollout processes can
 * share one trainer, and OpenAI-SDK agents can sample the policy being trained. The backend runs
 * in a worker thread, so health checks answer while a training step computes.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import type { Backend } from '../backends/backend.js';
import { ConfigError, errorMessage } from '../errors.js';
import { loadCheckpointChat } from '../backends/create-local-backend.js';
import { emulationProfile } from '../backends/server/emulation.js';
import { parseFaultSpec } from '../backends/server/fault-injector.js';
import { createTinkerServer, type TinkerServer } from '../backends/server/tinker-server.js';
import { WorkerBackend } from '../backends/server/worker-backend.js';
import { BigramTestBackend } from '../testing/bigram-test-backend.js';

const USAGE =
  'usage: turnwise serve (--checkpoint DIR | --backend-module FILE --backend-export NAME | ' +
  `--test-backend bigram) [options]

backend (one of):
  --checkpoint DIR          serve the CPU engine (LocalBackend) loaded from a checkpoint directory
                            (config.json, model.safetensors, tokenizer.json; optimizer state if present)
  --save-dir DIR            where save_weights writes checkpoints, and tinker-checkpoints.json, the index
                            of their tinker:// paths kept across restarts (default ./serve-checkpoints)
  --kernels native|reference
  --backend-module FILE     serve any Backend: a module whose export --backend-export NAME builds it
  --backend-export NAME       from the JSON of --backend-options; needs --tokenizer-from DIR (tokenizer.json)
  --backend-options JSON
  --tokenizer-from DIR
  --test-backend bigram     the bigram test double (for trying the protocol; not a language model)
  --lora                    honour create_model's lora_config: the engine trains a LoRA adapter (rank and
                            modules from the request, alpha --lora-alpha, default 32 as SkyRL) and saves it in
                            PEFT format, offered as the archive of named sampler weights (turnwise export);
                            without it the engine trains full weights whatever the client asks
  --lora-alpha N

server:
  --host HOST               default 127.0.0.1
  --port PORT               default 8000 (0 = any free port)
  --model-name NAME         the base_model clients ask for (default turnwise/<backend>)
  --api-key KEY             required as X-API-Key or Bearer (default env TURNWISE_API_KEY; none = open, and a
                            loud warning when --host is beyond loopback; an empty key is refused)
  --max-body-bytes N        largest request body, also after zstd (default 33554432)
  --max-prompt-bytes N      largest prompt text of an OpenAI request, checked before tokenising (default 262144)
  --max-prompts-per-request N            prompts in one /v1/completions request (default 64)
  --max-sequences-per-request N          prompts x n of one request (default 256)
  --max-concurrent-per-key N             work in flight per API key, then 429 (default 256; advertised to the
                                         SDK as sample_max_concurrent_requests)
  --weights-root DIR        load_weights reads backend paths only under DIR (default --save-dir with
                            --checkpoint; otherwise only tinker:// paths this server saved)
  --skyrl-errors            answer failed futures as HTTP 400 {detail} like SkyRL
  --faults SPEC             inject faults, e.g. delay=200,408=0.1,410=0.05,429=0.1,5xx=0.1,drop=0.05,\
drop_after=0.05,seed=7;
                            counts: hold_polls=N (hold each future's first N polls), pause=N (402 on the \
next N requests),
                            latency=MS (every call answered MS later)
                            (default env TURNWISE_FAULTS)

emulation (for testing clients against another service's behaviour):
  --emulate PROFILE         turnwise (default) | skyrl (polls held, then 408; model_id at once; sampler without
                            an end-of-sequence stop, stop strings applied after generating; 422 on bad loss
                            configs; no grad clip) | hosted (chunk limits in client/config, rate-limited asample
                            answering 429 with retry-after, one kind of stop)
  --poll-hold-ms N          how long retrieve_future holds a poll (default: turnwise 20000, skyrl 300000, hosted 30000)
  --rate-limit N            asample requests per second, burst N; 0 = none (default: hosted 64, others none)
  --max-chunk-datums N      most datums per forward_backward request (default 1024)`;

/** A started `serve`: its URL and how to stop it. */
export interface StartedServe {
  url: string;
  server: TinkerServer;
  backend: Backend;
  close(): Promise<void>;
}

/** Parses `serve` arguments, builds the backend and starts listening. */
export async function startServe(args: string[]): Promise<StartedServe> {
  const options = {
    checkpoint: { type: 'string' },
    'save-dir': { type: 'string' },
    kernels: { type: 'string' },
    'backend-module': { type: 'string' },
    'backend-export': { type: 'string' },
    'backend-options': { type: 'string' },
    'tokenizer-from': { type: 'string' },
    'test-backend': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8000' },
    'model-name': { type: 'string' },
    'api-key': { type: 'string' },
    'max-body-bytes': { type: 'string' },
    'max-prompt-bytes': { type: 'string' },
    'max-prompts-per-request': { type: 'string' },
    'max-sequences-per-request': { type: 'string' },
    'max-concurrent-per-key': { type: 'string' },
    'weights-root': { type: 'string' },
    'skyrl-errors': { type: 'boolean', default: false },
    faults: { type: 'string' },
    emulate: { type: 'string' },
    'poll-hold-ms': { type: 'string' },
    'rate-limit': { type: 'string' },
    'max-chunk-datums': { type: 'string' },
    lora: { type: 'boolean', default: false },
    'lora-alpha': { type: 'string' },
  } as const;
  let values: ReturnType<typeof parseArgs<{ args: string[]; strict: true; options: typeof options }>>['values'];
  try {
    values = parseArgs({ args, strict: true, options }).values;
  } catch (error) {
    throw new ConfigError(`${errorMessage(error)}\n${USAGE}`);
  }
  const port = integer(values.port!, '--port');
  const chosen = ['checkpoint', 'backend-module', 'test-backend'].filter(
    (key) => values[key as keyof typeof values] !== undefined,
  );
  if (chosen.length !== 1)
    throw new ConfigError(
      `choose exactly one backend (--checkpoint, --backend-module or --test-backend); ` +
        `got ${chosen.length === 0 ? 'none' : chosen.map((key) => `--${key}`).join(', ')}\n${USAGE}`,
    );
  if (values.kernels !== undefined && values.kernels !== 'native' && values.kernels !== 'reference')
    throw new ConfigError(`--kernels must be native or reference, got ${values.kernels}`);
  const emulation = emulationProfile(values.emulate ?? 'turnwise');
  const rate = values['rate-limit'] === undefined ? undefined : integer(values['rate-limit'], '--rate-limit');
  const maxChunkDatums =
    values['max-chunk-datums'] === undefined ? undefined : integer(values['max-chunk-datums'], '--max-chunk-datums');
  if (maxChunkDatums === 0) throw new ConfigError('--max-chunk-datums must be at least 1, got 0');
  const apiKey = values['api-key'] ?? (process.env.TURNWISE_API_KEY || undefined);
  if (apiKey !== undefined && apiKey.trim().length === 0)
    throw new ConfigError(
      `--api-key is empty (${JSON.stringify(apiKey)}); give a non-empty key, or none for an open server`,
    );
  const bounds = {
    maxPromptBytes: positive(values['max-prompt-bytes'], '--max-prompt-bytes'),
    maxPromptsPerRequest: positive(values['max-prompts-per-request'], '--max-prompts-per-request'),
    maxSequencesPerRequest: positive(values['max-sequences-per-request'], '--max-sequences-per-request'),
  };
  const maxConcurrentPerKey = positive(values['max-concurrent-per-key'], '--max-concurrent-per-key');
  const loraAlpha = values['lora-alpha'] === undefined ? undefined : Number(values['lora-alpha']);
  if (loraAlpha !== undefined && !(Number.isFinite(loraAlpha) && loraAlpha > 0))
    throw new ConfigError(`--lora-alpha must be a number > 0, got ${JSON.stringify(values['lora-alpha'])}`);
  if (loraAlpha !== undefined && !values.lora) throw new ConfigError('--lora-alpha needs --lora');

  let backend: Backend;
  const saveDirectory = resolve(values['save-dir'] ?? 'serve-checkpoints');
  if (values.checkpoint !== undefined) {
    const checkpoint = resolve(values.checkpoint);
    await mkdir(saveDirectory, { recursive: true });
    const { tokenizer, renderer } = await loadCheckpointChat(checkpoint);
    backend = await WorkerBackend.create({
      module: fileURLToPath(new URL(`../backends/server/checkpoint-backend${extension()}`, import.meta.url)),
      exportName: 'createCheckpointBackend',
      factoryOptions: { checkpoint, checkpointDirectory: saveDirectory, kernels: values.kernels },
      tokenizer,
      renderer,
    });
  } else if (values['backend-module'] !== undefined) {
    if (!values['backend-export'] || !values['tokenizer-from'])
      throw new ConfigError('--backend-module needs --backend-export NAME and --tokenizer-from DIR');
    let factoryOptions: unknown;
    try {
      factoryOptions = values['backend-options'] === undefined ? {} : JSON.parse(values['backend-options']);
    } catch (error) {
      throw new ConfigError(`--backend-options is not valid JSON: ${errorMessage(error)}`);
    }
    const { tokenizer, renderer } = await loadCheckpointChat(resolve(values['tokenizer-from']));
    backend = await WorkerBackend.create({
      module: resolve(values['backend-module']),
      exportName: values['backend-export'],
      factoryOptions,
      tokenizer,
      renderer,
    });
  } else {
    if (values['test-backend'] !== 'bigram')
      throw new ConfigError(`--test-backend must be bigram, got ${values['test-backend']}`);
    backend = new BigramTestBackend({ seed: 0 });
  }

  const faultSpec = values.faults ?? process.env.TURNWISE_FAULTS;
  let server: TinkerServer;
  let url: string;
  try {
    server = createTinkerServer({
      backend,
      modelName: values['model-name'],
      apiKey,
      maxBodyBytes:
        values['max-body-bytes'] === undefined ? undefined : integer(values['max-body-bytes'], '--max-body-bytes'),
      emulate: emulation.profile,
      failedFutureAs400: values['skyrl-errors'] ? true : undefined,
      longPollMs: values['poll-hold-ms'] === undefined ? undefined : integer(values['poll-hold-ms'], '--poll-hold-ms'),
      rateLimit: rate === undefined ? undefined : rate === 0 ? null : { requestsPerSecond: rate, burst: rate },
      maxChunkDatums,
      faults: faultSpec ? parseFaultSpec(faultSpec) : undefined,
      checkpointIndexFile: values.checkpoint !== undefined ? join(saveDirectory, 'tinker-checkpoints.json') : undefined,
      bounds,
      maxConcurrentPerKey,
      weightsRoot:
        values['weights-root'] !== undefined
          ? resolve(values['weights-root'])
          : values.checkpoint !== undefined
            ? saveDirectory
            : undefined,
      ...(values.lora ? { lora: { ...(loraAlpha !== undefined ? { alpha: loraAlpha } : {}) } } : {}),
    });
    url = await server.listen(port, values.host);
  } catch (error) {
    // The backend (a worker thread for a checkpoint) must not outlive a server that never started.
    await backend.close();
    throw error;
  }
  return {
    url,
    server,
    backend,
    async close() {
      await server.close();
      await backend.close();
    },
  };
}

/** A non-negative decimal integer: hex, exponents, signs, blanks and unsafe sizes are refused (`Number` takes them). */
function integer(text: string, flag: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value))
    throw new ConfigError(`${flag} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return value;
}

/** An optional limit: undefined when not given (the server's default), else an integer of at least 1. */
function positive(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = integer(text, flag);
  if (value < 1) throw new ConfigError(`${flag} must be at least 1, got ${JSON.stringify(text)}`);
  return value;
}

function extension(): string {
  return import.meta.url.endsWith('.ts') ? '.ts' : '.js';
}

export const command: Command = {
  summary: 'serve a backend over the Tinker protocol and OpenAI-compatible /v1 routes',
  async run(args) {
    if (args.includes('--help') || args.includes('-h')) {
      console.log(USAGE);
      return 0;
    }
    const started = await startServe(args);
    const profile = started.server.host.emulation.profile;
    console.log(
      `turnwise serve: ${started.backend.name} backend as ${started.server.host.modelName} ` +
        `on ${started.url} (Tinker: ${started.url}/api/v1, OpenAI: ` +
        `${started.url}/v1)${profile === 'turnwise' ? '' : `, emulating ${profile}`}`,
    );
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    console.log('turnwise serve: shutting down');
    await started.close();
    return 0;
  },
};
