/**
 * Building the embedded engine's Backend from files or from a model config: the one factory behind
 * `makeBackend`'s local branch, the warm start, `turnwise serve` and the tests. Weights come from a
 * Hugging Face checkpoint directory (a warm-started base, a run checkpoint) or are fresh and seeded;
 * the tokenizer and chat template come from a tokenizer directory (whose files are then copied into
 * every checkpoint the backend saves, so each checkpoint loads on its own) or are given as values.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadKernels } from '../engine/kernels/index.js';
import type { Kernels } from '../engine/kernels/kernels.js';
import { parseModelConfig } from '../engine/model-config.js';
import { loadModelCheckpoint } from '../engine/model-state.js';
import { loadTokenizer } from '../engine/tokenizer/hf-tokenizer.js';
import { Transformer } from '../engine/transformer.js';
import type { ChatRenderer } from '../rollout/chat-renderer.js';
import { ChatTemplateRenderer } from '../rollout/chat-template-renderer.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import { LocalBackend, type LocalBackendOptions } from './local.js';

/** Tokenizer files copied from a tokenizer directory into every checkpoint. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/** A tokenizer, the renderer of its chat template, and its files as text. */
export interface CheckpointChat {
  tokenizer: Tokenizer;
  renderer: ChatRenderer;
  tokenizerFiles: Record<string, string>;
}

/**
 * Loads the tokenizer and chat template of a directory holding
 * `tokenizer.json` (and optionally `tokenizer_config.json`).
 */
export async function loadCheckpointChat(directory: string): Promise<CheckpointChat> {
  const tokenizer = await loadTokenizer(directory);
  const renderer = new ChatTemplateRenderer({ tokenizer, template: tokenizer.chatTemplate });
  const tokenizerFiles: Record<string, string> = {};
  for (const name of TOKENIZER_FILES) {
    try {
      tokenizerFiles[name] = await readFile(join(directory, name), 'utf-8');
    } catch {
      // tokenizer_config.json is optional; loadTokenizer already required tokenizer.json.
    }
  }
  return { tokenizer, renderer, tokenizerFiles };
}

/** Where the weights come from: a checkpoint directory, or a fresh seeded model of a config. */
type WeightsSource = { checkpoint: string; optimizer?: boolean } | { modelConfig: unknown; seed?: number };

/** Where the tokenizer comes from: a directory (its files go into every checkpoint), or values. */
type ChatSource =
  | { tokenizerDir: string }
  | { tokenizer: Tokenizer; renderer: ChatRenderer; checkpointFiles?: Record<string, string | Uint8Array> };

/** Options of `createLocalBackend`. */
export type CreateLocalBackendOptions = WeightsSource &
  ChatSource & {
    /** Directory under which `save(name)` writes `<name>/` checkpoints. */
    checkpointDirectory: string;
    /** Kernels of the model (default `loadKernels()`: native when built, else the reference). */
    kernels?: Kernels;
    /** KV-cache slots of the sampler (rollouts decoded at once plus cached sessions); default the sampler's. */
    samplerSlots?: number;
  } & Pick<LocalBackendOptions, 'maxTokensPerMicroBatch'>;

/**
 * Builds a LocalBackend. From a checkpoint, the optimiser state is restored unless `optimizer` is
 * false (a base to start a run from has none worth keeping).
 */
export async function createLocalBackend(options: CreateLocalBackendOptions): Promise<LocalBackend> {
  const kernels = options.kernels ?? loadKernels();
  const chat =
    'tokenizerDir' in options
      ? await loadCheckpointChat(options.tokenizerDir)
      : { ...options, tokenizerFiles: options.checkpointFiles ?? {} };
  let model: Transformer;
  let optimizer: LocalBackendOptions['optimizer'];
  if ('checkpoint' in options) {
    ({ model, optimizer } = await loadModelCheckpoint(options.checkpoint, kernels, {
      optimizer: options.optimizer ?? true,
    }));
  } else {
    model = new Transformer({ config: parseModelConfig(options.modelConfig), kernels, seed: options.seed ?? 0 });
  }
  return new LocalBackend({
    model,
    optimizer,
    tokenizer: chat.tokenizer,
    renderer: chat.renderer,
    checkpointDirectory: options.checkpointDirectory,
    checkpointFiles: chat.tokenizerFiles,
    maxTokensPerMicroBatch: options.maxTokensPerMicroBatch,
    ...(options.samplerSlots !== undefined
      ? { sampler: { slots: options.samplerSlots, maxSequenceLength: model.config.max_position_embeddings } }
      : {}),
  });
}
