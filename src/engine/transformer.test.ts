import { describe, expect, it } from 'vitest';
import { referenceKernels } from './kernels/reference/index.js';
import { parseModelConfig } from './model-config.js';
import { Transformer } from './transformer.js';
import { Random } from '../random.js';

function tinyConfig(overrides: Record<string, unknown> = {}) {
  return parseModelConfig({
    hidden_size: 8,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    intermediate_size: 12,
    vocab_size: 11,
    attention_bias: true,
    rope_theta: 100,
    rms_norm_eps: 1e-5,
    ...overrides,
  });
}

function randomBatch(B: number, T: number, V: number, seed: number) {
  const random = new Random(seed);
  const inputIds = Array.from({ length: B * T }, () => random.int(V));
  const targets = Array.from({ length: B * T }, () => random.int(V));
  const coefficients = Float64Array.from({ length: B * T }, () => random.normal());
  return { B, T, inputIds, targets, coefficients };
}

/** Checks every parameter's gradient against central finite differences in float64. */
function gradientCheck(overrides: Record<string, unknown>) {
  const model = new Transformer({
    config: tinyConfig(overrides),
    kernels: referenceKernels,
    seed: 3,
    dtype: 'float64',
  });
  // Larger weights than the 0.02 init so every path contributes visibly.
  const random = new Random(9);
  for (const tensor of model.layout.tensors) {
    for (let i = 0; i < tensor.size; i++) model.params[tensor.offset + i] += random.normal() * 0.3;
  }
  const batch = randomBatch(2, 5, model.dims.V, 4);
  const temperature = 0.7;
  const loss = () => {
    const { logprobs } = model.forward(batch, temperature);
    let total = 0;
    for (let n = 0; n < logprobs.length; n++) total += batch.coefficients[n]! * logprobs[n]!;
    return total;
  };
  loss();
  model.zeroGrad();
  model.backward(batch.coefficients);
  const analytic = Float64Array.from(model.grads);
  const h = 1e-5;
  let worst = 0;
  for (const tensor of model.layout.tensors) {
    for (let i = 0; i < tensor.size; i++) {
      const index = tensor.offset + i;
      const saved = model.params[index]!;
      model.params[index] = saved + h;
      const plus = loss();
      model.params[index] = saved - h;
      const minus = loss();
      model.params[index] = saved;
      const numeric = (plus - minus) / (2 * h);
      const error =
        Math.abs(numeric - analytic[index]!) / Math.max(1e-3, Math.abs(numeric) + Math.abs(analytic[index]!));
      if (error > worst) worst = error;
      expect(error, `${tensor.name}[${i}] numeric ${numeric} analytic ${analytic[index]}`).toBeLessThan(1e-5);
    }
  }
  return worst;
}

describe('Transformer', () => {
  it('matches finite differences for every parameter (GQA, QKV bias, untied head, float64)', () => {
    gradientCheck({});
  });

  it('matches finite differences with a tied LM head and no QKV bias', () => {
    gradientCheck({ tie_word_embeddings: true, attention_bias: false, num_key_value_heads: 2 });
  });

  it('gives a padded position no influence on earlier positions', () => {
    const model = new Transformer({ config: tinyConfig(), kernels: referenceKernels, seed: 1 });
    const first = Array.from(model.forward({ B: 1, T: 4, inputIds: [1, 2, 3, 4], targets: [2, 3, 4, 5] }).logprobs);
    const padded = Array.from(
      model.forward({ B: 1, T: 6, inputIds: [1, 2, 3, 4, 0, 0], targets: [2, 3, 4, 5, 0, 0] }).logprobs,
    );
    for (let t = 0; t < 4; t++) expect(padded[t]).toBeCloseTo(first[t]!, 6);
  });

  it('initialises deterministically from the seed', () => {
    const a = new Transformer({ config: tinyConfig(), kernels: referenceKernels, seed: 5 });
    const b = new Transformer({ config: tinyConfig(), kernels: referenceKernels, seed: 5 });
    const c = new Transformer({ config: tinyConfig(), kernels: referenceKernels, seed: 6 });
    expect(Array.from(a.params)).toEqual(Array.from(b.params));
    expect(Array.from(a.params)).not.toEqual(Array.from(c.params));
  });

  it('rejects a batch whose arrays do not match B*T', () => {
    const model = new Transformer({ config: tinyConfig(), kernels: referenceKernels });
    expect(() => model.forward({ B: 2, T: 3, inputIds: [1, 2, 3], targets: [1, 2, 3] })).toThrow(/B\*T = 2\*3 = 6/);
  });
});
