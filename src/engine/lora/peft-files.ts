/**
 * A LoRA adapter as PEFT's files: `adapter_config.json` and `adapter_model.safetensors` (what
 * `PeftModel.from_pretrained`, vLLM's `--lora-modules` and Tinker's sampler archives hold), plus
 * turnwise's `adapter_optimizer.safetensors` (the AdamW moments, to resume training). Reading checks
 * the config and decodes the tensors; merging them is lora-merge.ts's.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, errorMessage } from '../../errors.js';
import { decodeSafetensors, encodeSafetensors, type TensorData } from '../safetensors.js';
import { parseAdapterConfig, type AdapterConfig } from './lora-config.js';

/** The file names of a PEFT adapter directory. */
export const ADAPTER_FILES = {
  config: 'adapter_config.json',
  model: 'adapter_model.safetensors',
  optimizer: 'adapter_optimizer.safetensors',
} as const;

/** An adapter in memory. */
export interface PeftAdapter {
  config: AdapterConfig;
  tensors: Map<string, TensorData>;
}

/** The adapter's files by name (the optimizer file only when moments are given). */
export function peftAdapterFiles(
  config: Record<string, unknown>,
  tensors: ReadonlyMap<string, TensorData>,
  optimizer?: ReadonlyMap<string, TensorData>,
): Record<string, string | Uint8Array> {
  const files: Record<string, string | Uint8Array> = {
    [ADAPTER_FILES.config]: `${JSON.stringify(config, null, 2)}\n`,
    [ADAPTER_FILES.model]: encodeSafetensors(tensors, { format: 'pt' }),
  };
  if (optimizer) files[ADAPTER_FILES.optimizer] = encodeSafetensors(optimizer, { format: 'pt' });
  return files;
}

/** Decodes an adapter from its two files' contents; `source` names where they came from. */
export function decodePeftAdapter(configText: string, model: Uint8Array, source: string): PeftAdapter {
  let json: unknown;
  try {
    json = JSON.parse(configText);
  } catch (error) {
    throw new CheckpointError(`${source}/${ADAPTER_FILES.config} is not valid JSON: ${errorMessage(error)}`);
  }
  const config = parseAdapterConfig(json, `${source}/${ADAPTER_FILES.config}`);
  const { tensors } = decodeSafetensors(model, `${source}/${ADAPTER_FILES.model}`);
  return { config, tensors };
}

/** True when a directory holds a PEFT adapter (its config file). */
export async function hasPeftAdapter(directory: string): Promise<boolean> {
  return stat(join(directory, ADAPTER_FILES.config)).then(
    () => true,
    () => false,
  );
}

/** Reads a PEFT adapter directory (and the AdamW moments, when `optimizer` and present). */
export async function readPeftAdapter(
  directory: string,
  options: { optimizer?: boolean } = {},
): Promise<PeftAdapter & { optimizer?: Map<string, TensorData> }> {
  const read = async (name: string): Promise<Buffer> => {
    try {
      return await readFile(join(directory, name));
    } catch (error) {
      throw new CheckpointError(`cannot read the adapter file ${join(directory, name)}: ${errorMessage(error)}`);
    }
  };
  const adapter = decodePeftAdapter(
    (await read(ADAPTER_FILES.config)).toString('utf-8'),
    await read(ADAPTER_FILES.model),
    directory,
  );
  if (!options.optimizer) return adapter;
  const moments = await readFile(join(directory, ADAPTER_FILES.optimizer)).catch(() => undefined);
  if (!moments) return adapter;
  return {
    ...adapter,
    optimizer: decodeSafetensors(moments, join(directory, ADAPTER_FILES.optimizer)).tensors,
  };
}
