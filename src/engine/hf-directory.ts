/**
 * A Hugging Face model directory for other tools (`AutoModelForCausalLM.from_pretrained`, vLLM,
 * the engine itself): `config.json`, `model.safetensors` (F32), `generation_config.json` and the
 * tokenizer files, written atomically as one directory by the checkpoint module (an existing
 * directory is replaced only once the new one is complete). `hfSideFiles` picks the files of a
 * base directory worth carrying over (tokenizer, chat template, generation config), leaving the
 * weights, optimiser and trainer state behind.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKPOINT_FILES, writeCheckpoint } from './checkpoint.js';
import type { TensorData } from './safetensors.js';

/** What an HF directory holds. */
export interface HfDirectoryContents {
  /** `config.json` fields (`torch_dtype`, and `dtype` if present, set to float32: what the weights are written as). */
  config: Record<string, unknown>;
  /** Weights by HF tensor name. */
  tensors: ReadonlyMap<string, TensorData>;
  /** Other files by plain name (tokenizer files, `generation_config.json`, ...). */
  files?: Record<string, string | Uint8Array>;
  /** End-of-sequence id for `generation_config.json` when neither the config nor the files give one. */
  eosTokenId?: number;
}

const GENERATION_CONFIG = 'generation_config.json';
/** Files never carried over: weights in any format, optimiser and trainer state, adapters, the config itself. */
const LEFT_BEHIND = new RegExp(
  '^(config\\.json|trainer_state\\.json|optimizer\\.safetensors|adapter_.*|checkpoint_complete|' +
    '.*\\.(safetensors|bin|pt|pth|gguf|msgpack|h5)|.*\\.(safetensors|bin)\\.index\\.json)$',
);

/** Writes an HF model directory atomically (replacing `directory` if it exists: callers decide whether it may). */
export async function writeHfDirectory(directory: string, contents: HfDirectoryContents): Promise<void> {
  const files = { ...contents.files };
  const config: Record<string, unknown> = { ...contents.config, torch_dtype: 'float32' };
  // transformers 5 writes `dtype` instead; either must say what the weights now are.
  if ('dtype' in config) config.dtype = 'float32';
  if (config.eos_token_id == null && contents.eosTokenId !== undefined) config.eos_token_id = contents.eosTokenId;
  if (!(GENERATION_CONFIG in files) && (config.eos_token_id != null || config.bos_token_id != null)) {
    const generation: Record<string, unknown> = { _from_model_config: true };
    if (config.bos_token_id != null) generation.bos_token_id = config.bos_token_id;
    if (config.eos_token_id != null) generation.eos_token_id = config.eos_token_id;
    files[GENERATION_CONFIG] = `${JSON.stringify(generation, null, 2)}\n`;
  }
  await writeCheckpoint(directory, {
    config,
    tensors: new Map(contents.tensors),
    metadata: { format: 'pt' },
    files,
  });
}

/** The files of an HF directory to carry into an export: tokenizer, chat template, generation config. */
export async function hfSideFiles(directory: string): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  for (const name of (await readdir(directory)).sort()) {
    if (LEFT_BEHIND.test(name) || name.startsWith('.') || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) continue;
    if (Object.values(CHECKPOINT_FILES).includes(name as never)) continue;
    const path = join(directory, name);
    if ((await stat(path)).isFile()) files[name] = await readFile(path);
  }
  return files;
}
