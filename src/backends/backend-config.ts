/**
 * The `backend` section of a training config: where the policy is held, trained and sampled
 * (`local` = the embedded CPU engine, `tinker` = a Tinker-protocol service), validated by one zod
 * schema that is the single source of its type, defaults and documentation. Also what can be
 * checked of a tinker section before anything connects: the API key variable and the tokenizer
 * files. `makeBackend` turns a section into a Backend.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../errors.js';

const positiveInt = () => z.number().int().min(1);

const TINKER_ONLY = '(tinker only)';

/**
 * Backend settings that change how the service is reached, not what is trained: a resumed run may
 * change them (`turnwise train --resume RUN --backend.baseUrl=...`), and the config hash leaves them out.
 */
export const BACKEND_CONNECTION_KEYS = [
  'baseUrl',
  'apiKeyEnv',
  'requestTimeoutSeconds',
  'retryAttempts',
  'heartbeatSeconds',
  'requestDeadlineSeconds',
  'futureDeadlineSeconds',
  'pollTimeoutSeconds',
] as const;

/** Schema of the backend section. */
export const backendConfigSchema = z
  .strictObject({
    kind: z
      .enum(['local', 'tinker'])
      .default('local')
      .describe(
        'where the policy trains (local | tinker): local = the embedded CPU engine, starting from ' +
          "a checkpoint directory (--base, or the task's own base such as the search-QA warm start); " +
          'tinker = a Tinker-protocol service (hosted Tinker, a SkyRL server, turnwise serve) ' +
          'training a LoRA of backend.baseModel, which is the starting policy: ' +
          'no local base is built; default local',
      ),
    baseUrl: z
      .string()
      .default('')
      .describe(
        `server root URL, e.g. http://127.0.0.1:8000 (required for tinker; ` +
          `no credentials in it) ${TINKER_ONLY}; default ""`,
      ),
    apiKeyEnv: z
      .string()
      .regex(
        /^([A-Za-z_][A-Za-z0-9_]*)?$/,
        'expected an environment variable NAME (letters, digits, _), not the key itself',
      )
      .default('TINKER_API_KEY')
      .describe(
        `NAME of the environment variable holding the API key, sent as X-API-Key (the key itself ` +
          `is never written to config.json); "" = send no key ${TINKER_ONLY}; default TINKER_API_KEY`,
      ),
    baseModel: z
      .string()
      .default('')
      .describe(
        `base model the service trains a LoRA of, e.g. Qwen/Qwen3-8B (required for tinker) ${TINKER_ONLY}; default ""`,
      ),
    loraRank: positiveInt().default(32).describe(`LoRA rank of the training client ${TINKER_ONLY}; default 32`),
    capabilities: z
      .enum(['auto', 'hosted', 'skyrl', 'turnwise'])
      .default('auto')
      .describe(
        `server family whose protocol differences the client respects (auto = detect ` +
          `from client/config | hosted | skyrl | turnwise) ${TINKER_ONLY}; default auto`,
      ),
    tokenizerDir: z
      .string()
      .default('')
      .describe(
        `directory with the base model's tokenizer.json and tokenizer_config.json (its ` +
          `chat_template renders conversations; required for tinker) ${TINKER_ONLY}; default ""`,
      ),
    requestTimeoutSeconds: z
      .number()
      .positive()
      .default(60)
      .describe(`timeout of one HTTP attempt, in seconds ${TINKER_ONLY}; default 60`),
    retryAttempts: positiveInt()
      .default(10)
      .describe(
        `attempts per request on connection errors, timeouts, 409 and 5xx, the first included (408, ` +
          `429 and 402 wait without using them up, within requestDeadlineSeconds) ${TINKER_ONLY}; default 10`,
      ),
    requestDeadlineSeconds: z
      .number()
      .positive()
      .default(1800)
      .describe(
        `longest one request keeps retrying and waiting, a busy (408, 429) ` +
          `or paused (402, e.g. billing) service included ${TINKER_ONLY}; default 1800`,
      ),
    futureDeadlineSeconds: z
      .number()
      .positive()
      .default(21600)
      .describe(
        `longest the client awaits the result of one request (a large forward_backward queued behind ` +
          `other runs takes hours; polls that time out never count as failures) ${TINKER_ONLY}; default 21600`,
      ),
    pollTimeoutSeconds: z
      .number()
      .positive()
      .default(45)
      .describe(
        `client timeout of one retrieve_future long poll (servers hold one up to 300 s; ` +
          `a poll that times out polls again) ${TINKER_ONLY}; default 45`,
      ),
    heartbeatSeconds: z
      .number()
      .positive()
      .default(10)
      .describe(
        `seconds between session heartbeats (sessions expire after 300 s without one) ${TINKER_ONLY}; default 10`,
      ),
  })
  .superRefine((backend, context) => {
    if (backend.kind !== 'tinker') return;
    const required: [keyof typeof backend, string][] = [
      ['baseUrl', 'the service URL, e.g. --backend.baseUrl=http://127.0.0.1:8000'],
      ['baseModel', 'the base model, e.g. --backend.baseModel=Qwen/Qwen3-8B'],
      [
        'tokenizerDir',
        "a directory with the base model's tokenizer.json and " +
          'tokenizer_config.json, e.g. --backend.tokenizerDir=models/qwen3-8b',
      ],
    ];
    for (const [key, example] of required) {
      if (backend[key] === '')
        context.addIssue({ code: 'custom', path: [key], message: `backend.kind is tinker, which needs ${example}` });
    }
    if (backend.baseUrl !== '') {
      let url: URL | undefined;
      try {
        url = new URL(backend.baseUrl);
      } catch {
        url = undefined;
      }
      if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        context.addIssue({ code: 'custom', path: ['baseUrl'], message: 'expected an http:// or https:// URL' });
      } else if (url.username !== '' || url.password !== '') {
        context.addIssue({
          code: 'custom',
          path: ['baseUrl'],
          message:
            'the URL must not carry credentials (they would be written to config.json); ' +
            'put the key in the environment variable named by backend.apiKeyEnv',
        });
      }
    }
  })
  .describe('the backend that holds, trains and samples the policy');

/** A resolved backend section. */
export type BackendConfig = z.output<typeof backendConfigSchema>;

/** The API key of a tinker section from the environment; a ConfigError naming the variable when unset. */
export function tinkerApiKey(
  backend: BackendConfig,
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  const name = backend.apiKeyEnv;
  if (name === '') return undefined;
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(
      `backend.kind is tinker and backend.apiKeyEnv names the environment variable ${name}, which is not set; ` +
        `export ${name}=<your API key>, name another variable with --backend.apiKeyEnv=NAME, ` +
        `or use --backend.apiKeyEnv= (empty) for a server that needs no key`,
    );
  }
  return value.trim();
}

/**
 * Checks what can be checked before any data is built or weights are loaded: the API key variable
 * and the tokenizer files of a tinker section (nothing for `local`).
 */
export function checkBackendEnvironment(
  backend: BackendConfig,
  env: Record<string, string | undefined> = process.env,
): void {
  if (backend.kind !== 'tinker') return;
  tinkerApiKey(backend, env);
  tinkerTokenizerFiles(backend);
}

/** The tokenizer directory and chat template of a tinker section; a ConfigError naming what is missing. */
export function tinkerTokenizerFiles(backend: BackendConfig): { dir: string; template: string } {
  const dir = resolve(backend.tokenizerDir);
  const tokenizerFile = join(dir, 'tokenizer.json');
  const configFile = join(dir, 'tokenizer_config.json');
  const where = `backend.tokenizerDir ${JSON.stringify(backend.tokenizerDir)}`;
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new ConfigError(
      `${where} is not a directory; expected the base model's tokenizer.json and tokenizer_config.json`,
    );
  if (!existsSync(tokenizerFile))
    throw new ConfigError(`${where} has no tokenizer.json; expected the base model's Hugging Face tokenizer files`);
  if (!existsSync(configFile))
    throw new ConfigError(`${where} has no tokenizer_config.json; expected the base model's, with its chat_template`);
  let template: unknown;
  try {
    template = (JSON.parse(readFileSync(configFile, 'utf8')) as { chat_template?: unknown }).chat_template;
  } catch (error) {
    throw new ConfigError(`${where}: tokenizer_config.json is not valid JSON: ${errorMessage(error)}`);
  }
  // Some models keep the template beside the config; a list of named templates uses "default".
  if (Array.isArray(template))
    template = (template as { name?: string; template?: string }[]).find((entry) => entry.name === 'default')?.template;
  if (typeof template !== 'string' && existsSync(join(dir, 'chat_template.jinja')))
    template = readFileSync(join(dir, 'chat_template.jinja'), 'utf8');
  if (typeof template !== 'string' || template.trim() === '') {
    throw new ConfigError(
      `${where}: tokenizer_config.json has no chat_template (nor is there a chat_template.jinja); ` +
        `the base model's template is needed to render conversations exactly as it was trained`,
    );
  }
  return { dir, template };
}
