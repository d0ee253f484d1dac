// Reads the checkpoints that scripts/make-torch-fixture.py saved with PyTorch and checks names,
// shapes, values and config against the summary the script wrote independently (expected.json).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from './checkpoint.js';
import { readSafetensors } from './safetensors.js';

const FIXTURES = fileURLToPath(new URL('./__fixtures__/', import.meta.url));

interface ExpectedJson {
  input_ids: number[][];
  target_ids: number[][];
  loss: number;
  tensors: Record<string, { shape: number[]; sum: number; head: number[] }>;
}

async function expectedJson(name: string): Promise<ExpectedJson> {
  return JSON.parse(await readFile(`${FIXTURES}${name}/expected.json`, 'utf-8')) as ExpectedJson;
}

describe.each([
  ['tiny-qwen2', 'qwen2', 48, true],
  ['tiny-llama', 'llama', 40, false],
] as const)('the PyTorch fixture %s', (name, modelType, vocabSize, hasLmHead) => {
  it('loads with exactly the tensor names, shapes and values PyTorch saved', async () => {
    const summary = await expectedJson(name);
    const expected = Object.fromEntries(Object.entries(summary.tensors).map(([key, value]) => [key, value.shape]));
    const checkpoint = await readCheckpoint(`${FIXTURES}${name}`, { expected });
    expect([...checkpoint.tensors.keys()].sort()).toEqual(Object.keys(summary.tensors).sort());
    expect(checkpoint.tensors.has('lm_head.weight')).toBe(hasLmHead);
    expect(checkpoint.metadata).toEqual({ format: 'pt' });
    for (const [key, { sum, head }] of Object.entries(summary.tensors)) {
      const data = checkpoint.tensors.get(key)!.data;
      expect(Array.from(data.subarray(0, head.length))).toEqual(head.map((value) => Math.fround(value)));
      const total = data.reduce((accumulator, value) => accumulator + value, 0);
      expect(Math.abs(total - sum)).toBeLessThan(1e-9 * Math.max(1, Math.abs(sum)) * data.length);
    }
  });

  it('loads the Hugging Face config.json fields as written', async () => {
    const checkpoint = await readCheckpoint(`${FIXTURES}${name}`);
    expect(checkpoint.config.model_type).toBe(modelType);
    expect(checkpoint.config.vocab_size).toBe(vocabSize);
    expect(checkpoint.config.tie_word_embeddings).toBe(!hasLmHead);
    expect(checkpoint.config).toEqual(JSON.parse(await readFile(`${FIXTURES}${name}/config.json`, 'utf-8')));
  });

  it('holds expected logits, ids and loss that agree with each other', async () => {
    const summary = await expectedJson(name);
    const { tensors } = await readSafetensors(`${FIXTURES}${name}/expected.safetensors`);
    const logits = tensors.get('logits')!;
    const [B, T, V] = logits.shape as [number, number, number];
    expect([B, T, V]).toEqual([2, 7, vocabSize]);
    expect(Array.from(tensors.get('input_ids')!.data)).toEqual(summary.input_ids.flat());
    const targets = tensors.get('target_ids')!.data;
    let loss = 0;
    for (let row = 0; row < B * T; row++) {
      const values = logits.data.subarray(row * V, (row + 1) * V);
      const max = Math.max(...values);
      const logSum = Math.log(values.reduce((sum, value) => sum + Math.exp(value - max), 0)) + max;
      loss += (logSum - values[targets[row]!]!) / (B * T);
    }
    expect(loss).toBeCloseTo(summary.loss, 5);
    for (const key of Object.keys(summary.tensors))
      expect(tensors.get(`grad.${key}`)!.shape).toEqual(summary.tensors[key]!.shape);
  });
});

describe('dtype conversions against PyTorch', () => {
  it('reads F16, BF16 and F64 tensors to the same float32 values torch converts them to', async () => {
    const { tensors, metadata } = await readSafetensors(`${FIXTURES}dtypes.safetensors`);
    expect(metadata.source).toBe('torch');
    for (const dtype of ['f16', 'bf16', 'f64']) {
      const converted = tensors.get(`x_${dtype}`)!;
      const reference = tensors.get(`x_${dtype}_as_f32`)!;
      expect(converted.shape).toEqual([3, 5]);
      expect(Array.from(converted.data)).toEqual(Array.from(reference.data));
    }
    expect(tensors.get('x_f16')!.data[1]).toBe(-Infinity);
  });
});
