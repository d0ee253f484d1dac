import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, type StartedServe } from '../../cli/serve.js';
import { referenceKernels } from '../../engine/kernels/reference/index.js';
import { readCheckpoint } from '../../engine/checkpoint.js';
import { readTar } from '../../engine/tar-archive.js';
import { trainBpe } from '../../engine/tokenizer/bpe-trainer.js';
import { writeTokenizerFiles } from '../../engine/tokenizer/tokenizer-files.js';
import type { ChatRenderer } from '../../rollout/chat-renderer.js';
import type { Tokenizer } from '../../rollout/tokenizer.js';
import { exportRun } from '../../train/export-run.js';
import { createLocalBackend, loadCheckpointChat } from '../create-local-backend.js';
import { TinkerBackend } from '../tinker/tinker-backend.js';
import { connectTestClient } from '../../testing/serve-for-test.js';

const directory = await mkdtemp(join(tmpdir(), 'turnwise-archive-'));
afterAll(() => rm(directory, { recursive: true, force: true }));
const ADAM = { learningRate: 0.02, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClipNorm: 1 };
let checkpoint: string;
let tokenizer: Tokenizer;
let renderer: ChatRenderer;

beforeAll(async () => {
  // A tiny engine checkpoint with a real tokenizer of its own vocabulary.
  const source = join(directory, 'source');
  await mkdir(source, { recursive: true });
  await writeTokenizerFiles(source, trainBpe(['hello world, the tiny model says hello.'], { vocabSize: 300 }));
  ({ tokenizer, renderer } = await loadCheckpointChat(source));
  const seeded = await createLocalBackend({
    modelConfig: {
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 24,
      vocab_size: tokenizer.vocabSize,
      max_position_embeddings: 128,
    },
    seed: 1,
    kernels: referenceKernels,
    tokenizerDir: source,
    checkpointDirectory: directory,
  });
  checkpoint = await seeded.save('initial');
});

const probeTokens = [5, 9, 14, 3, 7, 11];
const probe = { inputTokens: probeTokens.slice(0, -1), targetTokens: probeTokens.slice(1), weights: [1, 1, 1, 1, 1] };

/** Serves the checkpoint (the engine in a worker thread) with extra flags; trains one step and saves `name`. */
async function serveAndTrain(flags: string[], name: string): Promise<{ started: StartedServe; model: string }> {
  const started = await startServe([
    '--checkpoint',
    checkpoint,
    '--save-dir',
    join(directory, `saved-${name}`),
    '--kernels',
    'reference',
    '--port',
    '0',
    '--model-name',
    'tiny',
    '--api-key',
    'secret',
    ...flags,
  ]);
  const client = await TinkerBackend.connect({
    baseUrl: started.url,
    apiKey: 'secret',
    baseModel: 'tiny',
    tokenizer,
    renderer,
    loraRank: 2,
  });
  const tokens = tokenizer.encode('hello world, the tiny model');
  const datum = {
    inputTokens: tokens.slice(0, -1),
    targetTokens: tokens.slice(1),
    weights: tokens.slice(1).map(() => 1),
  };
  await client.forwardBackward([datum], { kind: 'cross_entropy' }, { temperature: 1 });
  await client.optimStep(ADAM);
  expect(await client.save(name)).toBe(`tinker://${client.modelId}/weights/${name}`);
  await client.close();
  return { started, model: client.modelId };
}

describe('checkpoint archives of turnwise serve', () => {
  it('offers a LoRA (serve --lora) as the SDK fetches it: 302 to a signed URL of a PEFT tar', async () => {
    const { started, model } = await serveAndTrain(['--lora', '--lora-alpha', '8'], 'lora-1');
    try {
      expect(started.server.host.info(model)).toMatchObject({ is_lora: true, lora_rank: 2 });
      const archiveUrl = `${started.url}/api/v1/training_runs/${model}/checkpoints/sampler_weights/lora-1/archive`;
      expect((await fetch(archiveUrl, { redirect: 'manual' })).status).toBe(401);
      const answer = await fetch(archiveUrl, { headers: { 'x-api-key': 'secret' }, redirect: 'manual' });
      expect(answer.status).toBe(302);
      expect(Date.parse(answer.headers.get('expires')!)).toBeGreaterThan(Date.now());
      const location = new URL(answer.headers.get('location')!, started.url).href;
      // The signed URL needs no key (a storage URL); a changed signature is refused.
      const download = await fetch(location);
      expect(download.status).toBe(200);
      expect(download.headers.get('content-type')).toBe('application/x-tar');
      const files = readTar(new Uint8Array(await download.arrayBuffer()), 'archive');
      expect([...files.keys()].sort()).toEqual([
        'adapter_config.json',
        'adapter_model.safetensors',
        'checkpoint_complete',
      ]);
      expect(JSON.parse(files.get('adapter_config.json')!.toString())).toMatchObject({
        r: 2,
        lora_alpha: 8,
        target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'lm_head'],
      });
      // Its first character changed for certain (writing "00" left a signature that began "00" as it
      // was, and the test failed once in 256 runs).
      const tampered = location.replace(/signature=(.)/, (_, first) => `signature=${first === '0' ? '1' : '0'}`);
      expect(tampered).not.toBe(location);
      expect((await fetch(tampered)).status).toBe(403);
      // SkyRL names a sampler checkpoint without its kind.
      const skyrl = `${started.url}/api/v1/training_runs/${model}/checkpoints/lora-1/archive`;
      expect((await fetch(skyrl, { headers: { 'x-api-key': 'secret' }, redirect: 'manual' })).status).toBe(302);
      const unknown = await fetch(archiveUrl.replace('lora-1', 'nope'), { headers: { 'x-api-key': 'secret' } });
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { detail: string }).detail).toMatch(/sampler_weights\/nope is not known/);
      // A new model asking for rank 0 starts over from the base with full weights.
      const full = await TinkerBackend.connect({
        baseUrl: started.url,
        apiKey: 'secret',
        baseModel: 'tiny',
        tokenizer,
        renderer,
        loraRank: 0,
      });
      expect(started.server.host.info(full.modelId)).toMatchObject({ is_lora: false });
      const base = await createLocalBackend({
        checkpoint,
        tokenizerDir: checkpoint,
        kernels: referenceKernels,
        checkpointDirectory: join(directory, 'unused'),
      });
      expect(await full.forward([probe], { temperature: 1 })).toEqual(await base.forward([probe], { temperature: 1 }));
      await full.close();
    } finally {
      await started.close();
    }
  });

  it('offers full weights when the engine trains full weights, which export takes as they are', async () => {
    const { started, model } = await serveAndTrain([], 'full-1');
    try {
      expect(started.server.host.info(model)).toMatchObject({ is_lora: false });
      const out = join(directory, 'full-export');
      const result = await exportRun({
        source: `tinker://${model}/sampler_weights/full-1`,
        out,
        baseUrl: started.url,
        apiKey: 'secret',
      });
      expect(result).toMatchObject({ kind: 'full' });
      const exported = await readCheckpoint(out, { optimizer: false });
      const served = await readCheckpoint(join(directory, 'saved-full-1', 'sampler-full-1'), { optimizer: false });
      expect(exported.tensors).toEqual(served.tensors);
      expect(await readFile(join(out, 'tokenizer.json'), 'utf-8')).toBe(
        await readFile(join(checkpoint, 'tokenizer.json'), 'utf-8'),
      );
    } finally {
      await started.close();
    }
  });

  it('refuses --lora-alpha without --lora, and a LoRA of a backend that cannot train one', async () => {
    await expect(startServe(['--test-backend', 'bigram', '--port', '0', '--lora-alpha', '8'])).rejects.toThrow(
      /^--lora-alpha needs --lora$/,
    );
    const started = await startServe([
      '--test-backend',
      'bigram',
      '--port',
      '0',
      '--lora',
      '--model-name',
      'test/bigram',
    ]);
    try {
      await expect(connectTestClient(started.url, { loraRank: 4 })).rejects.toThrow(
        /the bigram-test backend cannot train LoRA adapters/,
      );
    } finally {
      await started.close();
    }
  });
});
