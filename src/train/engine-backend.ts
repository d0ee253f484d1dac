/**
 * Making the embedded engine's Backend for training: the model config from the training config's
 * preset, the tokenizer and ChatML renderer from a tokenizer directory, weights either fresh
 * (seeded) or from a Hugging Face checkpoint directory (a warm-started base, a run checkpoint).
 * Every checkpoint the backend saves carries the tokenizer files, so it is loadable on its own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBackend } from '../backends/local.js';
import { readCheckpoint } from '../engine/checkpoint.js';
import { loadKernels } from '../engine/kernels/index.js';
import { loadModelTensors } from '../engine/model-state.js';
import { parseModelConfig, type ModelConfig } from '../engine/model-config.js';
import { loadTokenizer } from '../engine/tokenizer/hf-tokenizer.js';
import { Transformer } from '../engine/transformer.js';
import { ChatTemplateRenderer } from '../rollout/chat-template-renderer.js';
import type { ChatRenderer } from '../rollout/chat-renderer.js';
import { MODEL_PRESETS, type TrainConfig } from './config.js';

/** Tokenizer files copied into every checkpoint. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/** The engine model config of a training config (vocabulary size from the trained tokenizer). */
export function modelConfigOf(config: TrainConfig, vocabSize: number): ModelConfig {
  const preset = MODEL_PRESETS[config.model.size];
  return parseModelConfig({
    model_type: 'llama',
    ...preset,
    vocab_size: vocabSize,
    rope_theta: config.model.ropeTheta,
    tie_word_embeddings: true,
    max_position_embeddings: config.model.contextLength,
  });
}

/** A LocalBackend plus the per-conversation renderer factory the rollout loop uses. */
export type EngineBackend = LocalBackend & { createRenderer: () => ChatRenderer };

/** Options of `createEngineBackend`. */
export interface EngineBackendOptions {
  /** Directory with `tokenizer.json` (a tokenizer or a checkpoint directory). */
  tokenizerDir: string;
  /** Where `save(name)` writes checkpoints. */
  checkpointDirectory: string;
  /** The model config of fresh weights (ignored when `weightsFrom` is given). */
  modelConfig?: ModelConfig;
  /** A checkpoint directory to take the config and weights from. */
  weightsFrom?: string;
  /** Seed of fresh weights. */
  seed?: number;
  /** KV-cache slots of the sampler (rollouts decoded at once plus cached sessions). */
  samplerSlots?: number;
}

/** Creates the engine backend. */
export async function createEngineBackend(options: EngineBackendOptions): Promise<EngineBackend> {
  const kernels = loadKernels();
  const tokenizer = await loadTokenizer(options.tokenizerDir);
  let model: Transformer;
  if (options.weightsFrom !== undefined) {
    const contents = await readCheckpoint(options.weightsFrom, { optimizer: false });
    model = new Transformer({ config: parseModelConfig(contents.config, `${options.weightsFrom}/config.json`), kernels });
    loadModelTensors(model, contents.tensors, `${options.weightsFrom}/model.safetensors`);
  } else {
    if (options.modelConfig === undefined) throw new TypeError('createEngineBackend: give modelConfig or weightsFrom');
    model = new Transformer({ config: options.modelConfig, kernels, seed: options.seed ?? 0 });
  }
  const createRenderer = ChatTemplateRenderer.factory({ tokenizer });
  const files: Record<string, Uint8Array> = {};
  for (const name of TOKENIZER_FILES) files[name] = readFileSync(join(options.tokenizerDir, name));
  const backend = new LocalBackend({
    model,
    tokenizer,
    renderer: createRenderer(),
    checkpointDirectory: options.checkpointDirectory,
    checkpointFiles: files,
    sampler: { slots: options.samplerSlots ?? 128, maxSequenceLength: model.config.max_position_embeddings },
  });
  return Object.assign(backend, { createRenderer });
}
