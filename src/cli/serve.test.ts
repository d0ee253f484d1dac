import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { createLocalBackend } from '../backends/create-local-backend.js';
import { loadCheckpointChat } from '../backends/create-local-backend.js';
import { TinkerBackend } from '../backends/tinker/tinker-backend.js';
import { referenceKernels } from '../engine/kernels/reference/index.js';
import { trainBpe } from '../engine/tokenizer/bpe-trainer.js';
import { writeTokenizerFiles } from '../engine/tokenizer/tokenizer-files.js';
import { parseFaultSpec } from '../backends/server/fault-injector.js';
import { startServe } from './serve.js';

const directory = await mkdtemp(join(tmpdir(), 'turnwise-serve-'));
afterAll(() => rm(directory, { recursive: true, force: true }));

describe('turnwise serve', () => {
  it('refuses unknown flags, a missing backend and a bad fault spec with the usage', async () => {
    await expect(startServe(['--nope'])).rejects.toThrow(/Unknown option '--nope'[\s\S]*usage: turnwise serve/);
    await expect(startServe(['--port', '0'])).rejects.toBeInstanceOf(ConfigError);
    await expect(startServe(['--test-backend', 'bigram', '--port', '0', '--faults', 'drop=2'])).rejects.toThrow(
      /rate must be between 0 and 1/,
    );
    expect(parseFaultSpec('hold_polls=11,pause=3,408=0.5')).toMatchObject({ holdPolls: 11, pause: 3, rate408: 0.5 });
  });

  it('emulates SkyRL or hosted Tinker with --emulate, and names a bad profile or number in one line', async () => {
    await expect(startServe(['--test-backend', 'bigram', '--port', '0', '--emulate', 'vllm'])).rejects.toThrow(
      /^--emulate "vllm" is not a profile; expected one of turnwise, skyrl, hosted$/,
    );
    await expect(startServe(['--test-backend', 'bigram', '--port', '0', '--poll-hold-ms', 'soon'])).rejects.toThrow(
      /^--poll-hold-ms must be a non-negative integer, got "soon"$/,
    );
    for (const bad of ['0x10', '1e3', '', ' 5', '-1', '99999999999999999999'])
      await expect(startServe(['--test-backend', 'bigram', `--port=${bad}`])).rejects.toThrow(
        new RegExp(`^--port must be a non-negative integer, got ${JSON.stringify(JSON.stringify(bad)).slice(1, -1)}$`),
      );
    const started = await startServe([
      '--test-backend',
      'bigram',
      '--port',
      '0',
      '--emulate',
      'skyrl',
      '--poll-hold-ms',
      '50',
    ]);
    try {
      const config = await fetch(`${started.url}/api/v1/client/config`, { method: 'POST', body: '{}' });
      expect(await config.json()).toEqual({ pjwt_auth_enabled: false });
      expect(started.server.host.emulation.profile).toBe('skyrl');
    } finally {
      await started.close();
    }
    const hosted = await startServe([
      '--test-backend',
      'bigram',
      '--port',
      '0',
      '--emulate',
      'hosted',
      '--max-chunk-datums',
      '8',
      '--rate-limit',
      '0',
    ]);
    try {
      const config = (await (
        await fetch(`${hosted.url}/api/v1/client/config`, { method: 'POST', body: '{}' })
      ).json()) as Record<string, unknown>;
      expect(config.fwdbwd_max_chunk_len).toBe(8);
      expect(config.turnwise_extensions).toBeUndefined();
    } finally {
      await hosted.close();
    }
  });

  it('serves the bigram test backend with an API key', async () => {
    const started = await startServe(['--test-backend', 'bigram', '--port', '0', '--api-key', 'k']);
    try {
      expect((await fetch(`${started.url}/api/v1/healthz`)).status).toBe(200);
      expect((await fetch(`${started.url}/api/v1/create_session`, { method: 'POST', body: '{}' })).status).toBe(401);
    } finally {
      await started.close();
    }
  });

  it('serves the CPU engine from a checkpoint directory: Tinker training and OpenAI chat', async () => {
    // A tiny engine checkpoint whose vocabulary is the fixture tokenizer's.
    const source = join(directory, 'source');
    await mkdir(source, { recursive: true });
    await writeTokenizerFiles(source, trainBpe(['hello world, the tiny model says hello.'], { vocabSize: 300 }));
    const { tokenizer, renderer } = await loadCheckpointChat(source);
    const files = {
      'tokenizer.json': await readFile(join(source, 'tokenizer.json'), 'utf-8'),
      'tokenizer_config.json': await readFile(join(source, 'tokenizer_config.json'), 'utf-8'),
    };
    const modelConfig = {
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 24,
      vocab_size: tokenizer.vocabSize,
      max_position_embeddings: 256,
    };
    const seeded = await createLocalBackend({
      modelConfig,
      seed: 1,
      kernels: referenceKernels,
      tokenizer,
      renderer,
      checkpointDirectory: directory,
      checkpointFiles: files,
    });
    const checkpoint = await seeded.save('initial');

    const started = await startServe([
      '--checkpoint',
      checkpoint,
      '--save-dir',
      join(directory, 'saved'),
      '--kernels',
      'reference',
      '--port',
      '0',
      '--model-name',
      'tiny',
    ]);
    try {
      const client = await TinkerBackend.connect({ baseUrl: started.url, baseModel: 'tiny', tokenizer, renderer });
      const prompt = renderer.renderPrompt([{ role: 'user', content: 'hello' }]);
      const sample = await client
        .policy()
        .sample({ tokens: prompt, params: { temperature: 1, topK: 0, topP: 1, maxTokens: 5, stop: [] }, seed: 1 });
      expect(sample.tokens.length).toBeGreaterThan(0);
      const datum = {
        inputTokens: [...prompt, ...sample.tokens].slice(0, -1),
        targetTokens: [...prompt, ...sample.tokens].slice(1),
      };
      const weights = datum.targetTokens.map((_, t) => (t >= prompt.length - 1 ? 1 : 0));
      const result = await client.forwardBackward(
        [{ ...datum, weights }],
        { kind: 'cross_entropy' },
        { temperature: 1 },
      );
      expect(Number.isFinite(result.loss) && result.loss > 0).toBe(true);
      expect(
        (
          await client.optimStep({
            learningRate: 0.01,
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-8,
            weightDecay: 0,
            gradClipNorm: 1,
          })
        )['optim/step'],
      ).toBe(1);
      expect(await client.save('after-one-step')).toMatch(/weights\/after-one-step$/);
      await client.close();

      const openai = new OpenAI({ baseURL: `${started.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const chat = await openai.chat.completions.create({
        model: 'tiny',
        messages: [{ role: 'user', content: 'hello' }],
        max_completion_tokens: 4,
        seed: 2,
        logprobs: true,
      });
      expect(chat.choices[0]!.logprobs!.content!.length).toBeGreaterThan(0);
    } finally {
      await started.close();
    }
  });
});
