/**
 * The bridge between a Transformer (with its AdamW state) and a Hugging Face checkpoint directory:
 * weights by HF tensor name to and from `model.safetensors`, the config as `config.json`, the AdamW
 * moments as `exp_avg.<name>` / `exp_avg_sq.<name>` in `optimizer.safetensors` and the step in
 * `trainer_state.json`. Reading and atomic writing are the checkpoint module's.
 */
import { CheckpointError } from '../errors.js';
import { AdamW } from './adamw.js';
import { readCheckpoint, validateTensorShapes, writeCheckpoint, type CheckpointContents } from './checkpoint.js';
import type { Kernels } from './kernels/kernels.js';
import { configToJson, parseModelConfig } from './model-config.js';
import type { TensorData } from './safetensors.js';
import { Transformer } from './transformer.js';

/** The model's weights by HF name (float32 copies). */
export function modelTensors(model: Transformer): Map<string, TensorData> {
  return bufferTensors(model, model.params, '');
}

/**
 * Copies weights by HF name into the model; names and shapes
 * must match exactly (a tied model ignores `lm_head.weight`).
 */
export function loadModelTensors(model: Transformer, tensors: ReadonlyMap<string, TensorData>, source: string): void {
  const wanted = new Map(model.layout.tensors.map((tensor) => [tensor.name, tensor.shape]));
  const given = new Map(tensors);
  if (model.config.tie_word_embeddings) given.delete('lm_head.weight');
  validateTensorShapes(given, wanted, source);
  for (const tensor of model.layout.tensors) model.params.set(given.get(tensor.name)!.data, tensor.offset);
}

/** Writes the model (and the optimiser state) as a Hugging Face checkpoint directory, atomically. */
export async function saveModelCheckpoint(
  directory: string,
  model: Transformer,
  options: { optimizer?: AdamW; trainerState?: Record<string, unknown>; files?: CheckpointContents['files'] } = {},
): Promise<void> {
  const contents: CheckpointContents = {
    config: configToJson(model.config),
    tensors: modelTensors(model),
    metadata: { format: 'pt' },
    trainerState: { ...options.trainerState, ...(options.optimizer ? { optimizer_step: options.optimizer.step } : {}) },
  };
  if (options.files) contents.files = options.files;
  if (options.optimizer) {
    const moments = new Map<string, TensorData>();
    for (const [name, tensor] of bufferTensors(model, options.optimizer.m, 'exp_avg.')) moments.set(name, tensor);
    for (const [name, tensor] of bufferTensors(model, options.optimizer.v, 'exp_avg_sq.')) moments.set(name, tensor);
    contents.optimizer = moments;
  }
  await writeCheckpoint(directory, contents);
}

/** A model built from a checkpoint directory's config.json and weights. */
export async function loadModelCheckpoint(
  directory: string,
  kernels: Kernels,
  options: { optimizer?: boolean } = {},
): Promise<{ model: Transformer; optimizer: AdamW; trainerState: Record<string, unknown> | undefined }> {
  const contents = await readCheckpoint(directory, { optimizer: options.optimizer ?? true });
  const config = parseModelConfig(contents.config, `${directory}/config.json`);
  const model = new Transformer({ config, kernels });
  loadModelTensors(model, contents.tensors, `${directory}/model.safetensors`);
  const optimizer = new AdamW(model);
  if (options.optimizer ?? true) loadOptimizerState(model, optimizer, contents, directory);
  return { model, optimizer, trainerState: contents.trainerState };
}

/** Restores AdamW moments and step from checkpoint contents (no-op when the checkpoint has none). */
export function loadOptimizerState(
  model: Transformer,
  optimizer: AdamW,
  contents: CheckpointContents,
  directory: string,
): void {
  if (!contents.optimizer) return;
  for (const tensor of model.layout.tensors) {
    for (const [prefix, buffer] of [
      ['exp_avg.', optimizer.m],
      ['exp_avg_sq.', optimizer.v],
    ] as const) {
      const saved = contents.optimizer.get(prefix + tensor.name);
      if (!saved || saved.data.length !== tensor.size) {
        throw new CheckpointError(
          `${directory}/optimizer.safetensors: ${prefix}${tensor.name} ` +
            `is missing or has the wrong size (expected ${tensor.size})`,
        );
      }
      buffer.set(saved.data, tensor.offset);
    }
  }
  const step = contents.trainerState?.['optimizer_step'];
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) {
    throw new CheckpointError(
      `${directory}/trainer_state.json: optimizer_step must be a non-negative integer, got ${JSON.stringify(step)}`,
    );
  }
  optimizer.step = step;
}

function bufferTensors(
  model: Transformer,
  buffer: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> },
  prefix: string,
): Map<string, TensorData> {
  const tensors = new Map<string, TensorData>();
  for (const tensor of model.layout.tensors) {
    tensors.set(prefix + tensor.name, {
      shape: tensor.shape,
      data: Float32Array.from(buffer.subarray(tensor.offset, tensor.offset + tensor.size)),
    });
  }
  return tensors;
}
