import { describe, expect, it } from 'vitest';
import { referenceKernels } from './kernels/reference/index.js';
import { parseModelConfig } from './model-config.js';
import { createNativeKernels } from './kernels/native.js';
import { nativeAddonForTests } from './kernels/test-helpers.js';
import type { Kernels } from './kernels/kernels.js';
import { Transformer } from './transformer.js';
import { Random } from '../random.js';

const { addon } = nativeAddonForTests();

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
function gradientCheck(overrides: Record<string, unknown>, options: { zeroEvery?: number; packed?: boolean } = {}) {
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
  const padded = randomBatch(2, 5, model.dims.V, 4);
  // Packed: the same 10 tokens as sequences of 4, 1 and 5 positions.
  const batch = options.packed ? { ...padded, B: 1, T: 10, offsets: Int32Array.from([0, 4, 5, 10]) } : padded;
  // Positions without gradient (prompt tokens) skip the LM head's backward.
  if (options.zeroEvery) for (let n = 0; n < 10; n += options.zeroEvery) batch.coefficients[n] = 0;
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

  it('matches finite differences on a packed batch where some positions get no gradient', () => {
    gradientCheck({}, { packed: true, zeroEvery: 3 });
    gradientCheck({ tie_word_embeddings: true }, { zeroEvery: 2 });
  });

  it('refuses a second backward of one forward (the first consumed the saved logits)', () => {
    const model = new Transformer({ config: tinyConfig(), kernels: referenceKernels, seed: 1 });
    model.forward({ B: 1, T: 3, inputIds: [1, 2, 3], targets: [2, 3, 4] });
    model.backward(Float32Array.from([0, 1, 0]));
    expect(() => model.backward(Float32Array.from([0, 1, 0]))).toThrow(/call forward first/);
  });

  it('gives a padded position no influence on earlier positions', () => {
    const model = new Transformer({ config: tinyConfig(), kernels: referenceKernels, seed: 1 });
    const first = Array.from(model.forward({ B: 1, T: 4, inputIds: [1, 2, 3, 4], targets: [2, 3, 4, 5] }).logprobs);
    const padded = Array.from(
      model.forward({ B: 1, T: 6, inputIds: [1, 2, 3, 4, 0, 0], targets: [2, 3, 4, 5, 0, 0] }).logprobs,
    );
    for (let t = 0; t < 4; t++) expect(padded[t]).toBeCloseTo(first[t]!, 6);
  });

  const packedCases: Array<[string, () => Kernels, 'float32' | 'float64', number]> = [
    ['reference kernels, float64', () => referenceKernels, 'float64', 1e-12],
    ...(addon ? [['native kernels, float32', () => createNativeKernels(addon, 2), 'float32', 2e-4] as const] : []),
  ] as Array<[string, () => Kernels, 'float32' | 'float64', number]>;
  for (const [label, kernels, dtype, tolerance] of packedCases) {
    it(`gives sequences packed without padding the logprobs and gradient of the padded batch (${label})`, () => {
      const config = tinyConfig({ hidden_size: 16, num_attention_heads: 4, num_key_value_heads: 2 });
      const padded = new Transformer({ config, kernels: kernels(), seed: 4, dtype });
      const packed = new Transformer({ config, kernels: kernels(), seed: 4, dtype });
      const random = new Random(8);
      const lengths = [7, 3, 1, 6];
      const [B, T] = [lengths.length, 7];
      const inputIds = new Array<number>(B * T).fill(0);
      const targets = new Array<number>(B * T).fill(0);
      const dlogprobs = padded.allocate(B * T);
      const packedIds: number[] = [];
      const packedTargets: number[] = [];
      const packedGradient: number[] = [];
      lengths.forEach((length, b) => {
        for (let t = 0; t < length; t++) {
          [inputIds[b * T + t], targets[b * T + t], dlogprobs[b * T + t]] = [
            random.int(11),
            random.int(11),
            random.normal(),
          ];
          packedIds.push(inputIds[b * T + t]!);
          packedTargets.push(targets[b * T + t]!);
          packedGradient.push(dlogprobs[b * T + t]!);
        }
      });
      const offsets = Int32Array.from([0, 7, 10, 11, 17]);
      const expected = Array.from(padded.forward({ B, T, inputIds, targets }, 0.9).logprobs);
      padded.backward(dlogprobs);
      const N = packedIds.length;
      const result = packed.forward({ B: 1, T: N, inputIds: packedIds, targets: packedTargets, offsets }, 0.9);
      const packedDlogprobs = packed.allocate(packedGradient.length);
      packedDlogprobs.set(packedGradient);
      packed.backward(packedDlogprobs);
      lengths.forEach((length, b) => {
        for (let t = 0; t < length; t++)
          expect(Math.abs(result.logprobs[offsets[b]! + t]! - expected[b * T + t]!)).toBeLessThan(tolerance);
      });
      let worst = 0;
      let largest = 0;
      for (let i = 0; i < padded.grads.length; i++) {
        worst = Math.max(worst, Math.abs(packed.grads[i]! - padded.grads[i]!));
        largest = Math.max(largest, Math.abs(padded.grads[i]!));
      }
      expect(largest).toBeGreaterThan(0.01);
      expect(worst / largest).toBeLessThan(tolerance);
    });
  }

  it('rejects packed offsets that do not split the row, and a packed sequence longer than the context', () => {
    const model = new Transformer({ config: tinyConfig({ max_position_embeddings: 4 }), kernels: referenceKernels });
    const row = { B: 1, T: 6, inputIds: [1, 2, 3, 4, 5, 6], targets: [1, 2, 3, 4, 5, 6] };
    expect(() => model.forward({ ...row, offsets: [0, 4, 3, 6] })).toThrow(
      /offsets rising from 0 to T = 6, got \[0, 4, 3, 6\]/,
    );
    expect(() => model.forward({ ...row, offsets: Int32Array.from([0, 1, 6]) })).toThrow(
      /a sequence of 5 positions exceeds max_position_embeddings = 4/,
    );
    expect(model.forward({ ...row, offsets: Int32Array.from([0, 3, 6]) }).logprobs.length).toBe(6);
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
