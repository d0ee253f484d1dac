import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createLocalBackend } from '../backends/create-local-backend.js';
import type { LocalBackend } from '../backends/local.js';
import { downloadCheckpointArchive } from '../backends/tinker/archive-download.js';
import { main } from '../cli/main.js';
import { readCheckpoint } from '../engine/checkpoint.js';
import { decodeGguf } from '../engine/gguf-writer.js';
import { referenceKernels } from '../engine/kernels/reference/index.js';
import { ADAPTER_FILES, decodePeftAdapter } from '../engine/lora/peft-files.js';
import { saveModelCheckpoint } from '../engine/model-state.js';
import { readTar } from '../engine/tar-archive.js';
import { trainBpe } from '../engine/tokenizer/bpe-trainer.js';
import { tokenizerFiles } from '../engine/tokenizer/tokenizer-files.js';
import { CheckpointError, ConfigError } from '../errors.js';
import { Random } from '../random.js';
import type { ChatRenderer } from '../rollout/chat-renderer.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import { connectTestClient, startTestServer } from '../testing/serve-for-test.js';
import type { Datum } from '../training-types.js';
import { exportRun } from './export-run.js';
import { saveCheckpoint } from './run-state.js';

const V = 24;
const MODEL_CONFIG = {
  model_type: 'qwen2' as const,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 24,
  vocab_size: V,
  max_position_embeddings: 64,
};
const tokenizer: Tokenizer = {
  vocabSize: V,
  eosTokenId: 0,
  encode: (text) => Array.from(text, (c) => c.charCodeAt(0) % V),
  decode: (ids) => ids.map((id) => String.fromCharCode(97 + id)).join(''),
  tokenId: () => undefined,
};
const renderer: ChatRenderer = { renderPrompt: () => [1, 2], renderReply: () => [3], stopTokenIds: [0] };
const ADAM = { learningRate: 3e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClipNorm: 0 };
const FIXTURE_TOKENIZER = new URL('../engine/__fixtures__/qwen2-tokenizer/', import.meta.url).pathname;

const root = await mkdtemp(join(tmpdir(), 'turnwise-export-'));
afterAll(() => rm(root, { recursive: true, force: true }));

function data(seed: number): Datum[] {
  const random = new Random(seed);
  return Array.from({ length: 3 }, () => {
    const tokens = Array.from({ length: 10 }, () => random.int(V));
    return { inputTokens: tokens.slice(0, -1), targetTokens: tokens.slice(1), weights: tokens.slice(1).map(() => 1) };
  });
}

async function fixtureTokenizerFiles(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of ['tokenizer.json', 'tokenizer_config.json'])
    files[name] = await readFile(join(FIXTURE_TOKENIZER, name), 'utf-8');
  return files;
}

async function freshBackend(directory: string, checkpoint?: string): Promise<LocalBackend> {
  const chat = { tokenizer, renderer, checkpointFiles: await fixtureTokenizerFiles() };
  const weights = checkpoint ? { checkpoint, optimizer: false } : { modelConfig: MODEL_CONFIG, seed: 4 };
  return createLocalBackend({ ...weights, ...chat, kernels: referenceKernels, checkpointDirectory: directory });
}

const STATE = {
  round: 1,
  rng: [1, 2, 3, 4] as [number, number, number, number],
  data: { epoch: 0, position: 0, order: [] },
  elapsedSeconds: 1,
  configHash: 'test',
};

describe('turnwise export of a local-engine run', () => {
  it('writes an HF directory that loads back with identical weights and logits', async () => {
    const run = join(root, 'local-run');
    const trained = await freshBackend(join(run, 'checkpoints'));
    await trained.forwardBackward(data(1), { kind: 'cross_entropy' }, { temperature: 1 });
    await trained.optimStep(ADAM);
    await saveCheckpoint(run, trained, { ...STATE, step: 1 });
    const out = join(root, 'local-hf');
    const result = await exportRun({ source: run, out });
    expect(result).toMatchObject({ kind: 'local', out });
    expect(readdirSync(out).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf-8'));
    expect(config).toMatchObject({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', torch_dtype: 'float32' });
    const loaded = await createLocalBackend({
      checkpoint: out,
      tokenizerDir: out,
      kernels: referenceKernels,
      checkpointDirectory: join(root, 'unused'),
    });
    expect(Buffer.from(loaded.model.params.buffer).equals(Buffer.from(trained.model.params.buffer))).toBe(true);
    expect(await loaded.forward(data(2), { temperature: 1 })).toEqual(
      await trained.forward(data(2), { temperature: 1 }),
    );
  });

  it('refuses a missing run, a run without a checkpoint and an existing --out, losing nothing', async () => {
    await expect(exportRun({ source: join(root, 'nope'), out: join(root, 'x') })).rejects.toThrow(
      /run directory .*nope does not exist/,
    );
    const empty = join(root, 'empty-run');
    await mkdir(empty);
    await expect(exportRun({ source: empty, out: join(root, 'x') })).rejects.toThrow(/has no checkpoint/);
    const out = join(root, 'local-hf');
    const before = await readFile(join(out, 'model.safetensors'));
    await expect(exportRun({ source: join(root, 'local-run'), out })).rejects.toThrow(CheckpointError);
    await expect(exportRun({ source: join(root, 'local-run'), out })).rejects.toThrow(/already exists.*--overwrite/);
    expect((await readFile(join(out, 'model.safetensors'))).equals(before)).toBe(true);
    await expect(exportRun({ source: join(root, 'local-run'), out, overwrite: true })).resolves.toMatchObject({
      kind: 'local',
    });
  });

  it('answers bad input on the command line with one line and exit code 2', async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    try {
      expect(await main(['export', join(root, 'local-run'), '--out', join(root, 'local-hf')])).toBe(2);
      expect(await main(['export', join(root, 'local-run')])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^turnwise export: CheckpointError: --out .* already exists/);
    expect(errors[1]).toMatch(/needs --out DIR/);
    expect(errors.every((line) => !line.includes('\n'))).toBe(true);
  });
});

describe('turnwise export --format gguf', () => {
  const bpe = trainBpe(['the cat sat on the mat; the cat ate the rat. '.repeat(20)], { vocabSize: 280 });
  const ggufRun = join(root, 'gguf-run');

  it('writes the run as one GGUF file holding its weights under llama.cpp names and its tokenizer', async () => {
    const chat = { tokenizer, renderer, checkpointFiles: tokenizerFiles(bpe) };
    const modelConfig = { ...MODEL_CONFIG, model_type: 'llama' as const, vocab_size: 288, tie_word_embeddings: true };
    const backend = await createLocalBackend({
      modelConfig,
      seed: 5,
      ...chat,
      kernels: referenceKernels,
      checkpointDirectory: join(ggufRun, 'checkpoints'),
    });
    await saveCheckpoint(ggufRun, backend, { ...STATE, step: 1 });
    const out = join(root, 'gguf-out');
    const result = await exportRun({ source: ggufRun, out, format: 'gguf' });
    expect(result).toMatchObject({ kind: 'local', format: 'gguf', out: join(out, 'model.gguf'), tensors: 20 });
    const gguf = decodeGguf(await readFile(result.out));
    expect(gguf.metadata.get('general.architecture')).toBe('llama');
    expect((gguf.metadata.get('tokenizer.ggml.tokens') as string[]).slice(0, 3)).toEqual(bpe.vocab.slice(0, 3));
    const embedding = backend.model.weights.embedding;
    expect(gguf.tensors.get('token_embd.weight')!.data).toEqual(embedding.subarray(0, 288 * 16));
    expect(gguf.tensors.has('output.weight')).toBe(false);
    const f16 = await exportRun({ source: ggufRun, out: join(root, 'half.gguf'), format: 'gguf', dtype: 'f16' });
    expect(decodeGguf(await readFile(f16.out)).tensors.get('blk.0.ffn_up.weight')!.dtype).toBe('F16');
  });

  it('refuses an existing file without --overwrite, a directory in the way, an unwritable place', async () => {
    const file = join(root, 'half.gguf');
    const before = await readFile(file);
    await expect(exportRun({ source: ggufRun, out: file, format: 'gguf' })).rejects.toThrow(
      /half\.gguf already exists; refusing to replace it \(pass --overwrite/,
    );
    expect((await readFile(file)).equals(before)).toBe(true);
    await expect(exportRun({ source: ggufRun, out: file, format: 'gguf', overwrite: true })).resolves.toMatchObject({
      format: 'gguf',
    });
    expect((await readFile(file)).length).toBeGreaterThan(before.length); // f32 now
    await mkdir(join(root, 'dir.gguf'));
    await expect(
      exportRun({ source: ggufRun, out: join(root, 'dir.gguf'), format: 'gguf', overwrite: true }),
    ).rejects.toThrow(/dir\.gguf is a directory; a GGUF export replaces only a file/);
    await expect(exportRun({ source: ggufRun, out: join(file, 'x.gguf'), format: 'gguf' })).rejects.toThrow(
      /^cannot write .*half\.gguf\/x\.gguf: /,
    );
    expect((await readFile(file)).length).toBeGreaterThan(before.length);
  });

  it('refuses a run whose tokenizer does not fit the model, in one line on the command line', async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    try {
      // local-run's tokenizer (280 BPE ids, added tokens at Qwen2's 151643..) sits beside a 24-token model.
      const argv = ['export', join(root, 'local-run'), '--out', join(root, 'x.gguf'), '--format', 'gguf'];
      expect(await main(argv)).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^turnwise export: ConfigError: .*token .* has id \d+, outside the model's vocab_size 24$/,
    );
    expect(existsSync(join(root, 'x.gguf'))).toBe(false);
  });
});

describe('turnwise export of a LoRA trained through the protocol by turnwise serve', () => {
  it('merges the archived adapter into the base: base + adapter, and the server’s logits', async () => {
    const base = join(root, 'base');
    const seed = await freshBackend(join(root, 'seed'));
    await saveModelCheckpoint(base, seed.model, { files: await fixtureTokenizerFiles() });
    const served = await freshBackend(join(root, 'served'), base);
    const test = await startTestServer({ backend: served, modelName: 'test/tiny-qwen2', lora: { alpha: 16 } });
    const run = join(root, 'tinker-run');
    try {
      const client = await connectTestClient(test.url, {
        baseModel: 'test/tiny-qwen2',
        tokenizer,
        renderer,
        loraRank: 4,
      });
      for (const step of [1, 2]) {
        await client.forwardBackward(data(step), { kind: 'cross_entropy' }, { temperature: 1 });
        await client.optimStep(ADAM);
      }
      expect(test.server.host.info('model-2')).toMatchObject({ is_lora: true, lora_rank: 4 });
      await mkdir(run, { recursive: true });
      const backendSection = {
        kind: 'tinker',
        baseUrl: test.url,
        apiKeyEnv: '',
        baseModel: 'test/tiny-qwen2',
        tokenizerDir: base,
      };
      await writeFile(join(run, 'config.json'), JSON.stringify({ backend: backendSection }));
      await saveCheckpoint(run, client, { ...STATE, step: 2 });

      // No base given: refused before anything is written.
      const out = join(root, 'merged');
      await expect(exportRun({ source: run, out })).rejects.toThrow(/LoRA adapter: pass --base DIR/);
      expect(existsSync(out)).toBe(false);
      const result = await exportRun({ source: run, out, base });
      expect(result).toMatchObject({ kind: 'merged', from: expect.stringMatching(/\/sampler_weights\/step-000002$/) });
      // 2 layers x 7 projections + lm_head.
      expect(result.merged).toBe(15);
      expect(readdirSync(out)).toContain('generation_config.json');

      // The archive as the SDK would fetch it: a PEFT adapter and Tinker's completion marker.
      const archive = readTar(
        await downloadCheckpointArchive({ baseUrl: test.url, tinkerPath: result.from }),
        'archive',
      );
      expect([...archive.keys()].sort()).toEqual([ADAPTER_FILES.config, ADAPTER_FILES.model, 'checkpoint_complete']);
      const adapter = decodePeftAdapter(
        archive.get(ADAPTER_FILES.config)!.toString('utf-8'),
        archive.get(ADAPTER_FILES.model)!,
        'archive',
      );
      expect(adapter.config).toMatchObject({ r: 4, lora_alpha: 16, peft_type: 'LORA' });

      // Merged = base + (alpha / r) B A, in float64, for every adapted weight; the rest is the base's.
      const baseTensors = (await readCheckpoint(base, { optimizer: false })).tensors;
      const merged = (await readCheckpoint(out, { optimizer: false })).tensors;
      expect([...merged.keys()].sort()).toEqual([...baseTensors.keys()].sort());
      let largestDelta = 0;
      let largestError = 0;
      for (const [name, weight] of baseTensors) {
        const module = `base_model.model.${name.slice(0, -'.weight'.length)}`;
        const A = adapter.tensors.get(`${module}.lora_A.weight`);
        const B = adapter.tensors.get(`${module}.lora_B.weight`);
        const got = merged.get(name)!.data;
        if (!A || !B) {
          expect(got).toEqual(weight.data);
          continue;
        }
        const [out, inner] = weight.shape as [number, number];
        for (let o = 0; o < out; o++)
          for (let i = 0; i < inner; i++) {
            let delta = 0;
            for (let k = 0; k < 4; k++) delta += B.data[o * 4 + k]! * A.data[k * inner + i]!;
            largestDelta = Math.max(largestDelta, Math.abs(4 * delta));
            largestError = Math.max(
              largestError,
              Math.abs(got[o * inner + i]! - (weight.data[o * inner + i]! + 4 * delta)),
            );
          }
      }
      expect(largestDelta).toBeGreaterThan(1e-3);
      expect(largestError).toBeLessThan(1e-5);

      // The merged model's logprobs equal the LoRA model's as the server computes them.
      const loaded = await createLocalBackend({
        checkpoint: out,
        tokenizerDir: out,
        kernels: referenceKernels,
        checkpointDirectory: join(root, 'unused'),
      });
      const served_B_T = await client.forward(data(9), { temperature: 1 });
      const merged_B_T = await loaded.forward(data(9), { temperature: 1 });
      const baseModel = await freshBackend(join(root, 'unused'), base);
      const base_B_T = await baseModel.forward(data(9), { temperature: 1 });
      let largestGap = 0;
      let largestMove = 0;
      served_B_T.forEach((row, b) =>
        row.forEach((value, t) => {
          largestGap = Math.max(largestGap, Math.abs(value - merged_B_T[b]![t]!));
          largestMove = Math.max(largestMove, Math.abs(value - base_B_T[b]![t]!));
        }),
      );
      expect(largestMove).toBeGreaterThan(1e-3);
      expect(largestGap).toBeLessThan(1e-4);
      await client.close();
    } finally {
      await test.close();
    }
  });

  it('refuses a base whose shapes do not match the adapter, naming the weight', async () => {
    const small = join(root, 'small-base');
    const other = await createLocalBackend({
      modelConfig: { ...MODEL_CONFIG, intermediate_size: 32 },
      tokenizer,
      renderer,
      kernels: referenceKernels,
      checkpointDirectory: join(root, 'unused'),
    });
    await saveModelCheckpoint(small, other.model);
    const served = await freshBackend(join(root, 'served-2'), join(root, 'base'));
    const test = await startTestServer({ backend: served, modelName: 'test/tiny-qwen2', lora: {} });
    try {
      const client = await connectTestClient(test.url, {
        baseModel: 'test/tiny-qwen2',
        tokenizer,
        renderer,
        loraRank: 2,
      });
      await client.forwardBackward(data(1), { kind: 'cross_entropy' }, { temperature: 1 });
      await client.optimStep(ADAM);
      const path = await client.save('final');
      const sampler = path.replace('/weights/', '/sampler_weights/');
      const out = join(root, 'refused');
      await expect(exportRun({ source: sampler, out, base: small, baseUrl: test.url })).rejects.toThrow(
        /the adapter of model\.layers\.0\.mlp\.\w+_proj\.weight has lora_A .* which do not fit the base weight/,
      );
      await expect(exportRun({ source: sampler, out })).rejects.toThrow(ConfigError);
      await expect(exportRun({ source: 'tinker://x/checkpoints/y', out, baseUrl: test.url })).rejects.toThrow(
        /not a Tinker checkpoint path/,
      );
      await expect(
        exportRun({ source: sampler.replace('final', 'missing'), out, base: small, baseUrl: test.url }),
      ).rejects.toThrow(/no archive of .*missing/);
      expect(existsSync(out)).toBe(false);
      await client.close();
    } finally {
      await test.close();
    }
  });
});
