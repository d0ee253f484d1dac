/**
 * `npx tsx scripts/check-export-hf.ts [--python PATH]`: checks `turnwise export` against the Hugging
 * Face tools themselves (not part of the test suite: it needs a Python with torch, transformers, peft
 * and safetensors, default `python3`). It makes a tiny Qwen2 base with its own tokenizer, trains a LoRA
 * through `turnwise serve --lora` for three steps over the Tinker protocol, exports the run (the
 * archive's adapter merged into the base) and a local-engine run, and has
 * scripts/check_export_hf.py load them with transformers and PEFT: the merged model's target
 * logprobs against the server's LoRA model, PEFT's base + adapter against the merge, PEFT's
 * `merge_and_unload` weights against ours, and the local export against the engine.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLocalBackend, loadCheckpointChat } from '../src/backends/create-local-backend.js';
import { downloadCheckpointArchive } from '../src/backends/tinker/archive-download.js';
import { referenceKernels } from '../src/engine/kernels/reference/index.js';
import { saveModelCheckpoint } from '../src/engine/model-state.js';
import { readTar } from '../src/engine/tar-archive.js';
import { trainBpe } from '../src/engine/tokenizer/bpe-trainer.js';
import { writeTokenizerFiles } from '../src/engine/tokenizer/tokenizer-files.js';
import { Random } from '../src/random.js';
import { connectTestClient, startTestServer } from '../src/testing/serve-for-test.js';
import { exportRun } from '../src/train/export-run.js';
import { saveCheckpoint } from '../src/train/run-state.js';

const { values } = parseArgs({ options: { python: { type: 'string', default: 'python3' } } });
const root = await mkdtemp(join(tmpdir(), 'turnwise-check-export-'));
const ADAM = { learningRate: 0.05, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClipNorm: 0 };
const STATE = { round: 1, rng: [1, 2, 3, 4] as [number, number, number, number], elapsedSeconds: 0, configHash: 'x' };
try {
  const tokenizerDir = join(root, 'tokenizer');
  await mkdir(tokenizerDir);
  await writeTokenizerFiles(tokenizerDir, trainBpe(['hello world, the tiny model says hello.'], { vocabSize: 320 }));
  const { tokenizer, renderer } = await loadCheckpointChat(tokenizerDir);
  const modelConfig = {
    model_type: 'qwen2' as const,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 48,
    vocab_size: tokenizer.vocabSize,
    max_position_embeddings: 128,
  };
  const random = new Random(5);
  const data = () =>
    Array.from({ length: 4 }, () => {
      const tokens = Array.from({ length: 12 }, () => random.int(tokenizer.vocabSize));
      return { inputTokens: tokens.slice(0, -1), targetTokens: tokens.slice(1), weights: tokens.slice(1).map(() => 1) };
    });
  const engine = (name: string, seed: number) =>
    createLocalBackend({
      modelConfig,
      seed,
      kernels: referenceKernels,
      tokenizerDir,
      checkpointDirectory: join(root, name, 'checkpoints'),
    });

  // A base, a LoRA of it trained through turnwise serve, and the exported merge.
  const base = join(root, 'base');
  const files: Record<string, string> = {};
  for (const name of ['tokenizer.json', 'tokenizer_config.json'])
    files[name] = await readFile(join(tokenizerDir, name), 'utf-8');
  await saveModelCheckpoint(base, (await engine('seed', 3)).model, { files });
  const served = await createLocalBackend({
    checkpoint: base,
    optimizer: false,
    tokenizerDir: base,
    kernels: referenceKernels,
    checkpointDirectory: join(root, 'served'),
  });
  const test = await startTestServer({ backend: served, modelName: 'tiny', lora: { alpha: 16 } });
  const client = await connectTestClient(test.url, { baseModel: 'tiny', tokenizer, renderer, loraRank: 4 });
  for (let step = 0; step < 3; step++) {
    await client.forwardBackward(data(), { kind: 'cross_entropy' }, { temperature: 1 });
    await client.optimStep(ADAM);
  }
  const run = join(root, 'lora-run');
  await mkdir(run);
  const backend = { kind: 'tinker', baseUrl: test.url, apiKeyEnv: '', baseModel: 'tiny', tokenizerDir: base };
  await writeFile(join(run, 'config.json'), JSON.stringify({ backend }));
  await saveCheckpoint(run, client, { ...STATE, step: 3, data: { epoch: 0, position: 0, order: [] } });
  const merged = await exportRun({ source: run, out: join(root, 'merged'), base });
  const archive = readTar(await downloadCheckpointArchive({ baseUrl: test.url, tinkerPath: merged.from }), 'archive');
  await mkdir(join(root, 'adapter'));
  for (const [name, bytes] of archive) await writeFile(join(root, 'adapter', name), bytes);
  const probe = data();
  const servedLogprobs = await client.forward(probe, { temperature: 1 });
  await client.close();
  await test.close();

  // A local-engine run and its export.
  const localRun = join(root, 'local-run');
  const local = await engine('local-run', 9);
  await local.forwardBackward(data(), { kind: 'cross_entropy' }, { temperature: 1 });
  await local.optimStep(ADAM);
  await saveCheckpoint(localRun, local, { ...STATE, step: 1, data: { epoch: 0, position: 0, order: [] } });
  await exportRun({ source: localRun, out: join(root, 'local-hf') });
  const localLogprobs = await local.forward(probe, { temperature: 1 });
  await writeFile(join(root, 'probe.json'), JSON.stringify({ probe, servedLogprobs, localLogprobs }));

  const script = fileURLToPath(new URL('check_export_hf.py', import.meta.url));
  const result = spawnSync(values.python!, [script, root], { stdio: 'inherit' });
  if (result.error) throw result.error;
  process.exitCode = result.status ?? 1;
} finally {
  await rm(root, { recursive: true, force: true });
}
