/**
 * The archive `turnwise serve` offers for a saved checkpoint, as hosted Tinker and SkyRL do for
 * sampler weights: a tar of the PEFT adapter (`adapter_config.json`, `adapter_model.safetensors`)
 * when the checkpoint was saved while training a LoRA, else of the Hugging Face files of the full
 * weights (`config.json`, `model.safetensors`, tokenizer files), with Tinker's `checkpoint_complete`
 * marker in both.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKPOINT_FILES } from '../../engine/checkpoint.js';
import { ADAPTER_FILES } from '../../engine/lora/peft-files.js';
import { writeTar } from '../../engine/tar-archive.js';
import { HttpError } from './http-io.js';

const FULL_FILES = [CHECKPOINT_FILES.config, CHECKPOINT_FILES.model, 'tokenizer.json', 'tokenizer_config.json'];

/** The tar archive of a checkpoint directory written by a Backend's `save`. */
export async function checkpointArchive(directory: string, tinkerPath: string): Promise<Buffer> {
  const present = async (name: string): Promise<boolean> =>
    stat(join(directory, name)).then(
      (info) => info.isFile(),
      () => false,
    );
  if (!(await present(CHECKPOINT_FILES.config)) && !(await present(ADAPTER_FILES.config)))
    throw new HttpError(404, `checkpoint ${tinkerPath} has no files on this server (its backend keeps none)`);
  const names = (await present(ADAPTER_FILES.config)) ? [ADAPTER_FILES.config, ADAPTER_FILES.model] : FULL_FILES;
  const files: Record<string, Uint8Array> = {};
  for (const name of names) if (await present(name)) files[name] = await readFile(join(directory, name));
  files.checkpoint_complete = new Uint8Array(0);
  return writeTar(files);
}
