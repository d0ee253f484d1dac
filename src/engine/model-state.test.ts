import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError } from '../errors.js';
import { referenceKernels } from './kernels/reference/index.js';
import { parseModelConfig } from './model-config.js';
import { AdamW } from './adamw.js';
import { loadModelCheckpoint, loadModelTensors, modelTensors, saveModelCheckpoint } from './model-state.js';
import { Transformer } from './transformer.js';

const CONFIG = parseModelConfig({
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 12,
  vocab_size: 10,
  tie_word_embeddings: true,
});
const SETTINGS = { learningRate: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, gradClipNorm: 1 };
const directories: string[] = [];
afterEach(async () => {
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
});

describe('model checkpoints', () => {
  it('round-trips weights, config and AdamW state through a Hugging Face directory', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'turnwise-model-'));
    directories.push(directory);
    const model = new Transformer({ config: CONFIG, kernels: referenceKernels, seed: 4 });
    const optimizer = new AdamW(model);
    model.forward({ B: 1, T: 3, inputIds: [1, 2, 3], targets: [2, 3, 4] });
    model.backward(Float32Array.from([1, -1, 0.5]));
    optimizer.apply(SETTINGS);
    await saveModelCheckpoint(join(directory, 'ckpt'), model, { optimizer });
    const loaded = await loadModelCheckpoint(join(directory, 'ckpt'), referenceKernels);
    expect(Array.from(loaded.model.params)).toEqual(Array.from(model.params));
    expect(Array.from(loaded.optimizer.m)).toEqual(Array.from(optimizer.m));
    expect(Array.from(loaded.optimizer.v)).toEqual(Array.from(optimizer.v));
    expect(loaded.optimizer.step).toBe(1);
    expect(loaded.model.config.tie_word_embeddings).toBe(true);
  });

  it('names missing and mismatched tensors when the weights do not fit the model', () => {
    const model = new Transformer({ config: CONFIG, kernels: referenceKernels });
    const tensors = modelTensors(model);
    tensors.delete('model.norm.weight');
    tensors.set('model.embed_tokens.weight', { shape: [11, 8], data: new Float32Array(88) });
    expect(() => loadModelTensors(model, tensors, 'test.safetensors')).toThrow(CheckpointError);
    expect(() => loadModelTensors(model, tensors, 'test.safetensors')).toThrow(
      /missing.*model.norm.weight.*expected \[10, 8\], got \[11, 8\]/,
    );
  });
});
