/**
 * What `turnwise serve --checkpoint DIR` serves: a LocalBackend (the CPU engine) loaded from a
 * checkpoint directory holding `config.json`, `model.safetensors` and the tokenizer files, with the
 * chat template of its `tokenizer_config.json` (ChatML when it has none). The factory runs inside
 * the backend worker thread; the tokenizer and renderer are also loaded in the main thread for the
 * OpenAI routes.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { ChatRenderer } from '../../rollout/chat-renderer.js';
import type { Tokenizer } from '../../rollout/tokenizer.js';
import { ChatTemplateRenderer } from '../../rollout/chat-template-renderer.js';
import { loadTokenizer } from '../../engine/tokenizer/hf-tokenizer.js';
import { loadKernels } from '../../engine/kernels/index.js';
import { createLocalBackend, type LocalBackend } from '../local.js';

/** Options of a served checkpoint (structured-cloneable: they cross into the worker). */
export interface CheckpointBackendOptions {
  /** The checkpoint directory to load. */
  checkpoint: string;
  /** Where `save_weights` writes checkpoints. */
  checkpointDirectory: string;
  /** Load the optimiser state saved with the checkpoint (default true when present). */
  optimizer?: boolean;
  /** Kernel choice; default native when built, else reference. */
  kernels?: 'native' | 'reference';
}

/** The tokenizer and chat renderer of a checkpoint directory. */
export async function loadCheckpointChat(checkpoint: string): Promise<{ tokenizer: Tokenizer; renderer: ChatRenderer; tokenizerFiles: Record<string, string> }> {
  const tokenizer = await loadTokenizer(checkpoint);
  const renderer = new ChatTemplateRenderer({ tokenizer, template: tokenizer.chatTemplate });
  const tokenizerFiles: Record<string, string> = {};
  for (const name of ['tokenizer.json', 'tokenizer_config.json']) {
    try {
      tokenizerFiles[name] = await readFile(join(checkpoint, name), 'utf-8');
    } catch {
      // tokenizer_config.json is optional; loadTokenizer already required tokenizer.json.
    }
  }
  return { tokenizer, renderer, tokenizerFiles };
}

/** Builds the LocalBackend of a checkpoint (the `WorkerBackend` factory of `turnwise serve`). */
export async function createCheckpointBackend(options: CheckpointBackendOptions): Promise<LocalBackend> {
  const { tokenizer, renderer, tokenizerFiles } = await loadCheckpointChat(options.checkpoint);
  return createLocalBackend({
    checkpoint: options.checkpoint,
    optimizer: options.optimizer,
    kernels: loadKernels({ prefer: options.kernels }),
    tokenizer,
    renderer,
    checkpointDirectory: options.checkpointDirectory,
    checkpointFiles: tokenizerFiles,
  });
}
