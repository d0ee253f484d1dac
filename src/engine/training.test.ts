import { describe, expect, it } from 'vitest';
import { referenceKernels } from './kernels/reference/index.js';
import { parseModelConfig } from './model-config.js';
import { Transformer } from './transformer.js';
import { AdamW } from './adamw.js';
import { crossEntropyGradient, forwardBackward, forwardOnly } from './training.js';
import { planMicroBatches } from './micro-batches.js';
import { Random } from '../random.js';

const CONFIG = parseModelConfig({
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  intermediate_size: 24,
  vocab_size: 13,
  model_type: 'qwen2',
});

function sequences(count: number, seed: number) {
  const random = new Random(seed);
  return Array.from({ length: count }, (_, i) => {
    const length = 3 + ((i * 5) % 7);
    const tokens = Array.from({ length: length + 1 }, () => random.int(13));
    return {
      inputTokens: tokens.slice(0, -1),
      targetTokens: tokens.slice(1),
      weights: tokens.slice(1).map((_, t) => (t === 0 ? 0 : 1)),
    };
  });
}

const SETTINGS = { learningRate: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClipNorm: 0 };

describe('training', () => {
  it('gives a padded sequence the same logprobs as the sequence alone', () => {
    const model = new Transformer({ config: CONFIG, kernels: referenceKernels, seed: 2 });
    const data = sequences(4, 1);
    const together = forwardOnly(model, data, { temperature: 0.8 });
    data.forEach((sequence, i) => {
      const alone = forwardOnly(model, [sequence], { temperature: 0.8 });
      for (let t = 0; t < sequence.inputTokens.length; t++)
        expect(together.logprobs[i]![t]).toBeCloseTo(alone.logprobs[0]![t]!, 6);
    });
  });

  it('accumulates the same gradient over micro-batches as in one batch', () => {
    const data = sequences(5, 3);
    const loss = crossEntropyGradient(data.map((s) => s.weights));
    const whole = new Transformer({ config: CONFIG, kernels: referenceKernels, seed: 2 });
    forwardBackward(whole, data, loss.gradient, { temperature: 1 });
    const split = new Transformer({ config: CONFIG, kernels: referenceKernels, seed: 2 });
    forwardBackward(split, data, loss.gradient, { temperature: 1, maxTokensPerMicroBatch: 12 });
    expect(
      planMicroBatches(
        data.map((s) => s.inputTokens.length),
        12,
      ).length,
    ).toBeGreaterThan(2);
    for (let i = 0; i < whole.grads.length; i++) expect(split.grads[i]).toBeCloseTo(whole.grads[i]!, 6);
  });

  it('learns to memorise sequences with cross-entropy and AdamW, deterministically', () => {
    const train = () => {
      const model = new Transformer({ config: CONFIG, kernels: referenceKernels, seed: 7 });
      const optimizer = new AdamW(model);
      const data = sequences(3, 5);
      const loss = crossEntropyGradient(data.map((s) => s.weights));
      const losses: number[] = [];
      for (let step = 0; step < 30; step++) {
        const result = forwardBackward(model, data, loss.gradient, { temperature: 1 });
        losses.push(loss.loss(result.logprobs));
        optimizer.apply({ ...SETTINGS, gradClipNorm: 1 });
      }
      return { losses, params: Array.from(model.params) };
    };
    const first = train();
    expect(first.losses[29]!).toBeLessThan(first.losses[0]! * 0.3);
    expect(train().params).toEqual(first.params);
  });

  it('applies torch AdamW semantics with decay on matrices only, and clips the global norm', () => {
    const model = new Transformer({ config: CONFIG, kernels: referenceKernels, seed: 1, dtype: 'float64' });
    const random = new Random(3);
    for (const tensor of model.layout.tensors)
      for (let i = 0; i < tensor.size; i++) model.grads[tensor.offset + i] = random.normal();
    const params0 = Float64Array.from(model.params);
    const grads0 = Float64Array.from(model.grads);
    let norm = 0;
    for (const tensor of model.layout.tensors)
      for (let i = 0; i < tensor.size; i++) norm += grads0[tensor.offset + i]! ** 2;
    norm = Math.sqrt(norm);
    const optimizer = new AdamW(model);
    const clip = 0.5;
    const result = optimizer.apply({ ...SETTINGS, gradClipNorm: clip });
    expect(result.gradNorm).toBeCloseTo(norm, 8);
    const scale = clip / (norm + 1e-6);
    for (const tensor of model.layout.tensors) {
      const decay = tensor.shape.length >= 2 ? SETTINGS.weightDecay : 0;
      for (let i = 0; i < tensor.size; i += 7) {
        const j = tensor.offset + i;
        const g = grads0[j]! * scale;
        const m = (1 - SETTINGS.beta1) * g;
        const v = (1 - SETTINGS.beta2) * g * g;
        const mHat = m / (1 - SETTINGS.beta1);
        const vHat = v / (1 - SETTINGS.beta2);
        const expected =
          params0[j]! * (1 - SETTINGS.learningRate * decay) -
          (SETTINGS.learningRate * mHat) / (Math.sqrt(vHat) + SETTINGS.eps);
        expect(model.params[j]).toBeCloseTo(expected, 10);
      }
    }
    expect(model.grads.every((g) => g === 0)).toBe(true);
  });

  it('rejects an invalid learning rate with the field name', () => {
    const model = new Transformer({ config: CONFIG, kernels: referenceKernels });
    expect(() => new AdamW(model).apply({ ...SETTINGS, learningRate: -1 })).toThrow(/learningRate = -1/);
  });

  it('rejects token ids outside the vocabulary, naming the sequence and position', () => {
    const model = new Transformer({ config: CONFIG, kernels: referenceKernels });
    expect(() => forwardOnly(model, [{ inputTokens: [1, 99], targetTokens: [2, 3] }], { temperature: 1 })).toThrow(
      /sequence 0, position 1/,
    );
  });
});
