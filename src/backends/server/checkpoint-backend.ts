/**
 * What `turnwise serve --checkpoint DIR` serves: a LocalBackend (the CPU engine) loaded from a
 * checkpoint directory holding `config.json`, `model.safetensors` and the tokenizer files, with the
 * chat template of its `tokenizer_config.json` (ChatML when it has none). The factory runs inside
 * the backend worker thread; the tokenizer and renderer are also loaded in the main thread for the
 * OpenAI routes (`loadCheckpointChat`).
 */
import { loadKernels } from '../../engine/kernels/index.js';
import { createLocalBackend } from '../create-local-backend.js';
import type { LocalBackend } from '../local.js';

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

/** Builds the LocalBackend of a checkpoint (the `WorkerBackend` factory of `turnwise serve`). */
export function createCheckpointBackend(options: CheckpointBackendOptions): Promise<LocalBackend> {
  return createLocalBackend({
    checkpoint: options.checkpoint,
    optimizer: options.optimizer,
    tokenizerDir: options.checkpoint,
    kernels: loadKernels({ prefer: options.kernels }),
    checkpointDirectory: options.checkpointDirectory,
  });
}
