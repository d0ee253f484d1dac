import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import {
  applyOverrides,
  configHash,
  loadConfig,
  readRunConfig,
  resolveConfig,
  writeResolvedConfig,
} from '../train/config-load.js';
import { openBackend as makeBackend, startingPoint } from '../train/pipeline.js';
import { checkBackendEnvironment, tinkerApiKey } from './backend-config.js';
import { searchQaTaskDefinition } from '../tasks/search-qa/definition.js';
import type { SearchQaTask } from '../tasks/search-qa/search-qa-task.js';

const tinker = {
  kind: 'tinker',
  baseUrl: 'http://127.0.0.1:9',
  baseModel: 'Qwen/Qwen3-8B',
  tokenizerDir: '/nonexistent',
};

describe('the backend section of the training config', () => {
  it('defaults to the local engine and fills the tinker settings with their defaults', () => {
    const config = resolveConfig({});
    expect(config.backend).toEqual({
      kind: 'local',
      baseUrl: '',
      apiKeyEnv: 'TINKER_API_KEY',
      baseModel: '',
      loraRank: 32,
      capabilities: 'auto',
      tokenizerDir: '',
      requestTimeoutSeconds: 60,
      retryAttempts: 10,
      heartbeatSeconds: 10,
      requestDeadlineSeconds: 1800,
      futureDeadlineSeconds: 21600,
      pollTimeoutSeconds: 45,
    });
  });

  it('takes dotted overrides and the --backend=tinker shorthand', async () => {
    const config = await loadConfig({
      overrides: [
        '--backend.kind=tinker',
        '--backend.baseUrl=https://tinker.example/api',
        '--backend.baseModel=Qwen/Qwen3-8B',
        '--backend.tokenizerDir=models/q',
        '--backend.loraRank=8',
        '--backend.capabilities=skyrl',
        '--rl.temperature=1',
      ],
    });
    expect(config.backend).toMatchObject({
      kind: 'tinker',
      baseUrl: 'https://tinker.example/api',
      loraRank: 8,
      capabilities: 'skyrl',
    });
    expect(resolveConfig({ backend: 'local' }).backend.kind).toBe('local');
    expect(resolveConfig(applyOverrides({ backend: { ...tinker } }, ['--backend=local'])).backend.kind).toBe('local');
    // The shorthand sets the kind whatever the order, keeping the dotted keys given with it.
    const dotted = applyOverrides({}, [
      `--backend.baseUrl=${tinker.baseUrl}`,
      '--backend=tinker',
      '--backend.baseModel=Qwen/Qwen3-8B',
    ]);
    expect(dotted.backend).toEqual({ kind: 'tinker', baseUrl: tinker.baseUrl, baseModel: 'Qwen/Qwen3-8B' });
  });

  it('reads the config.json of a run written before the backend section ("backend": "local")', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnwise-backend-legacy-'));
    const legacy = { ...JSON.parse(JSON.stringify(resolveConfig({ seed: 4 }))), backend: 'local' };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(legacy));
    expect(readRunConfig(dir).backend.kind).toBe('local');
    expect(readRunConfig(dir).seed).toBe(4);
    // Its checkpoints carry the hash of the legacy form; the resolved config must hash the same to resume.
    expect(configHash(readRunConfig(dir))).toBe(configHash(legacy));
    expect(configHash(resolveConfig({ backend: { loraRank: 8 } }))).not.toBe(configHash(legacy));
  });

  it('leaves how the service is reached out of the config hash, and keeps what is trained in it', () => {
    const run = resolveConfig({ backend: tinker });
    const moved = resolveConfig({
      backend: {
        ...tinker,
        baseUrl: 'https://elsewhere:8443',
        apiKeyEnv: 'OTHER_KEY',
        requestTimeoutSeconds: 5,
        retryAttempts: 2,
        heartbeatSeconds: 3,
        requestDeadlineSeconds: 60,
        futureDeadlineSeconds: 600,
        pollTimeoutSeconds: 10,
      },
    });
    expect(configHash(moved)).toBe(configHash(run));
    for (const change of [
      { baseModel: 'Qwen/Qwen3-4B' },
      { loraRank: 8 },
      { capabilities: 'turnwise' },
      { tokenizerDir: '/other' },
    ]) {
      expect(configHash(resolveConfig({ backend: { ...tinker, ...change } }))).not.toBe(configHash(run));
    }
  });

  it('names each missing tinker setting with an example', () => {
    const error = (() => {
      try {
        resolveConfig({ backend: { kind: 'tinker' } });
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/backend\.baseUrl.*got \(missing\).*needs the service URL/);
    expect(error.message).toMatch(
      /backend\.baseModel.*needs the base model, e\.g\. --backend\.baseModel=Qwen\/Qwen3-8B/,
    );
    expect(error.message).toMatch(/backend\.tokenizerDir.*tokenizer\.json and tokenizer_config\.json/);
  });

  it('rejects bad values naming key, value and what is allowed', () => {
    expect(() => resolveConfig({ backend: { kind: 'gpu' } })).toThrow(/backend\.kind.*got "gpu".*"local"\|"tinker"/);
    expect(() => resolveConfig({ backend: { ...tinker, capabilities: 'vllm' } })).toThrow(
      /backend\.capabilities.*got "vllm".*"auto"\|"hosted"\|"skyrl"\|"turnwise"/,
    );
    expect(() => resolveConfig({ backend: { ...tinker, baseUrl: 'ftp://host' } })).toThrow(
      /backend\.baseUrl.*got "ftp:\/\/host".*http:\/\/ or https:\/\/ URL/,
    );
    expect(() => resolveConfig({ backend: { ...tinker, baseUrl: 'https://me:secret@host' } })).toThrow(
      /backend\.baseUrl.*must not carry credentials/,
    );
    expect(() => resolveConfig({ backend: { ...tinker, apiKeyEnv: 'tml-abc123-secret' } })).toThrow(
      /backend\.apiKeyEnv.*environment variable NAME/,
    );
    expect(() => resolveConfig({ backend: { ...tinker, loraRank: 0 } })).toThrow(/backend\.loraRank.*got 0/);
    expect(() => resolveConfig({ backend: { ...tinker, requestTimeoutSeconds: -1 } })).toThrow(
      /backend\.requestTimeoutSeconds.*got -1/,
    );
    expect(() => applyOverrides({}, ['--backend.url=http://x'])).toThrow(
      /unknown config key "backend\.url".*allowed keys under backend: kind, baseUrl, apiKeyEnv/,
    );
  });

  it('refuses what a remote base model cannot do, naming the field', () => {
    // KL on a service: its reference is the base model's sampler, whose prompt logprobs are at temperature 1.
    expect(() => resolveConfig({ backend: tinker, loss: { klBeta: 0.01 } })).toThrow(
      /rl\.temperature.*rl\.temperature is 0\.9.*loss\.klBeta > 0.*temperature 1/,
    );
    expect(resolveConfig({ backend: tinker, loss: { klBeta: 0.01 }, rl: { temperature: 1 } }).loss.klBeta).toBe(0.01);
    expect(() => resolveConfig({ backend: { ...tinker, capabilities: 'hosted' } })).toThrow(
      /rl\.temperature.*rl\.temperature is 0\.9, but a hosted Tinker server.*temperature 1/,
    );
    expect(
      resolveConfig({ backend: { ...tinker, capabilities: 'hosted' }, rl: { temperature: 1 } }).rl.temperature,
    ).toBe(1);
    expect(resolveConfig({ backend: { ...tinker, capabilities: 'turnwise' } }).rl.temperature).toBe(0.9);
    // The local engine keeps its KL term.
    expect(resolveConfig({ loss: { klBeta: 0.01 } }).loss.klBeta).toBe(0.01);
  });

  it('writes the name of the key variable, never the key, into the run config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnwise-backend-secret-'));
    const config = resolveConfig({ backend: { ...tinker, apiKeyEnv: 'MY_TINKER_KEY' } });
    expect(tinkerApiKey(config.backend, { MY_TINKER_KEY: 'tml-very-secret' })).toBe('tml-very-secret');
    writeResolvedConfig(dir, config);
    const text = readFileSync(join(dir, 'config.json'), 'utf8');
    expect(text).toContain('"apiKeyEnv": "MY_TINKER_KEY"');
    expect(text).not.toContain('tml-very-secret');
  });
});

describe('making the backend a config names', () => {
  const tokenizerDir = (configJson: unknown) => {
    const dir = mkdtempSync(join(tmpdir(), 'turnwise-backend-tokenizer-'));
    writeFileSync(join(dir, 'tokenizer.json'), '{}');
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(configJson));
    return dir;
  };

  it('fails before any connection when the API key variable is unset, naming it', async () => {
    const config = resolveConfig({ backend: { ...tinker, apiKeyEnv: 'TURNWISE_TEST_UNSET_KEY' } });
    expect(() => checkBackendEnvironment(config.backend, {})).toThrow(
      /environment variable TURNWISE_TEST_UNSET_KEY, which is not set; export TURNWISE_TEST_UNSET_KEY=/,
    );
    expect(() => tinkerApiKey(config.backend, { TURNWISE_TEST_UNSET_KEY: '  ' })).toThrow(ConfigError);
    await expect(makeBackend(config, { checkpointDirectory: '/tmp/x', env: {} })).rejects.toThrow(
      /TURNWISE_TEST_UNSET_KEY/,
    );
    expect(tinkerApiKey(resolveConfig({ backend: { ...tinker, apiKeyEnv: '' } }).backend, {})).toBeUndefined();
  });

  it('names the tokenizer directory when its files or chat template are missing', () => {
    const env = { TINKER_API_KEY: 'k' };
    const withDir = (dir: string) => resolveConfig({ backend: { ...tinker, tokenizerDir: dir } });
    expect(() => checkBackendEnvironment(withDir('/nonexistent/tok').backend, env)).toThrow(
      /backend\.tokenizerDir "\/nonexistent\/tok" is not a directory/,
    );
    const empty = mkdtempSync(join(tmpdir(), 'turnwise-backend-empty-'));
    expect(() => checkBackendEnvironment(withDir(empty).backend, env)).toThrow(/has no tokenizer\.json/);
    expect(() => checkBackendEnvironment(withDir(tokenizerDir({ eos_token: '<|im_end|>' })).backend, env)).toThrow(
      /tokenizer_config\.json has no chat_template/,
    );
    expect(() =>
      checkBackendEnvironment(withDir(tokenizerDir({ chat_template: '{{ messages }}' })).backend, env),
    ).not.toThrow();
    const jinja = tokenizerDir({});
    writeFileSync(join(jinja, 'chat_template.jinja'), '{{ messages }}');
    expect(() => checkBackendEnvironment(withDir(jinja).backend, env)).not.toThrow();
  });

  it('refuses a local checkpoint directory as the starting weights of a tinker run', async () => {
    const dir = tokenizerDir({ chat_template: '{{ messages }}' });
    const config = resolveConfig({ backend: { ...tinker, tokenizerDir: dir } });
    const local = mkdtempSync(join(tmpdir(), 'turnwise-backend-base-'));
    mkdirSync(join(local, 'base'));
    await expect(
      makeBackend(config, {
        weightsFrom: join(local, 'base'),
        checkpointDirectory: local,
        env: { TINKER_API_KEY: 'k' },
      }),
    ).rejects.toThrow(/is a local checkpoint directory, but backend\.kind is tinker/);
    const task = {} as SearchQaTask;
    await expect(startingPoint(config, searchQaTaskDefinition, task, { base: local, log: () => {} })).rejects.toThrow(
      /--base .* is a local checkpoint directory, but backend\.kind is tinker/,
    );
    const messages: string[] = [];
    const start = await startingPoint(config, searchQaTaskDefinition, task, {
      log: (message) => messages.push(message),
    });
    expect(start.weightsFrom).toBeUndefined();
    expect(messages.join('\n')).toMatch(/starting from Qwen\/Qwen3-8B \(LoRA rank 32\).*warm start .* is skipped/);
    expect(
      (
        await startingPoint(config, searchQaTaskDefinition, task, {
          base: 'tinker://run/weights/step-4',
          log: () => {},
        })
      ).weightsFrom,
    ).toBe('tinker://run/weights/step-4');
  });

  it('asks for a base directory for the local engine, and says when tinker settings go unused', async () => {
    await expect(makeBackend(resolveConfig({}), { checkpointDirectory: '/tmp/x' })).rejects.toThrow(
      /backend\.kind local needs a checkpoint directory/,
    );
    const messages: string[] = [];
    const local = resolveConfig({ backend: { ...tinker, kind: 'local' } });
    const start = await startingPoint(local, searchQaTaskDefinition, {} as SearchQaTask, {
      base: '/some/base',
      log: (message) => messages.push(message),
    });
    expect(start.weightsFrom).toBe('/some/base');
    expect(messages).toEqual([
      '[backend] backend.kind is local, so backend.baseUrl, backend.baseModel, ' +
        'backend.tokenizerDir are not used (--backend.kind=tinker trains on the service)',
    ]);
  });

  it('refuses a sampling temperature other than 1 on a server detected as hosted Tinker', async () => {
    // A stand-in answering like hosted Tinker: client/config with its chunking flags, then a session and a model.
    const answers: Record<string, unknown> = {
      '/api/v1/client/config': { fwdbwd_max_chunk_len: 512 },
      '/api/v1/create_session': { session_id: 's1' },
      '/api/v1/create_model': { model_id: 'm1' },
      '/api/v1/session_heartbeat': {},
    };
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const body = answers[request.url ?? ''];
        response.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body ?? { detail: 'not found' }));
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const dir = tokenizerDir({ chat_template: '{{ messages }}' });
      writeFileSync(
        join(dir, 'tokenizer.json'),
        JSON.stringify({ model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: [] } }),
      );
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const config = resolveConfig({ backend: { ...tinker, tokenizerDir: dir, baseUrl: url } });
      await expect(makeBackend(config, { checkpointDirectory: dir, env: { TINKER_API_KEY: 'k' } })).rejects.toThrow(
        new RegExp(
          `rl\\.temperature is 0\\.9, but the hosted server at ${url} computes ` +
            `training logprobs at temperature 1; set --rl\\.temperature=1`,
        ),
      );
      const atOne = await makeBackend(
        resolveConfig({ backend: { ...tinker, tokenizerDir: dir, baseUrl: url }, rl: { temperature: 1 } }),
        { checkpointDirectory: dir, env: { TINKER_API_KEY: 'k' } },
      );
      expect((atOne as unknown as { capabilities: { server: string } }).capabilities.server).toBe('hosted');
      await atOne.close();
    } finally {
      server.close();
    }
  });

  it('names backend.baseUrl when the service cannot be reached', async () => {
    const dir = tokenizerDir({ chat_template: '{{ messages }}' });
    // The tokenizer must load before connecting: write a minimal real one.
    writeFileSync(
      join(dir, 'tokenizer.json'),
      JSON.stringify({ model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: [] } }),
    );
    const config = resolveConfig({
      backend: {
        ...tinker,
        tokenizerDir: dir,
        baseUrl: 'http://127.0.0.1:1',
        retryAttempts: 1,
        requestTimeoutSeconds: 2,
      },
    });
    await expect(makeBackend(config, { checkpointDirectory: dir, env: { TINKER_API_KEY: 'k' } })).rejects.toThrow(
      /could not open a training client of Qwen\/Qwen3-8B at backend\.baseUrl http:\/\/127\.0\.0\.1:1/,
    );
  });
});
