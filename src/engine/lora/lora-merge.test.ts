import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../errors.js';
import { Random } from '../../random.js';
import { loadKernels } from '../kernels/index.js';
import { referenceKernels } from '../kernels/reference/index.js';
import type { TensorData } from '../safetensors.js';
import { parseAdapterConfig } from './lora-config.js';
import { mergeLoraAdapter, planLoraMerge } from './lora-merge.js';

const CONFIG = parseAdapterConfig({ peft_type: 'LORA', r: 3, lora_alpha: 6 }, 'test');

function tensor(shape: number[], random: Random): TensorData {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = random.normal();
  return { shape, data };
}

function base(random: Random): Map<string, TensorData> {
  return new Map([
    ['model.layers.0.self_attn.q_proj.weight', tensor([8, 5], random)],
    ['model.layers.0.input_layernorm.weight', tensor([5], random)],
    ['lm_head.weight', tensor([11, 5], random)],
  ]);
}

describe('mergeLoraAdapter', () => {
  for (const kernels of [referenceKernels, loadKernels()]) {
    it(`gives W + (alpha/r) B A in float64 within float tolerance (${kernels.name} kernels)`, () => {
      const random = new Random(1);
      const weights = base(random);
      const A = tensor([3, 5], random);
      const B = tensor([8, 3], random);
      const adapter = new Map([
        ['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', A],
        ['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', B],
      ]);
      const merged = mergeLoraAdapter({ kernels, base: weights, adapter, config: CONFIG, source: 'test' });
      const W = weights.get('model.layers.0.self_attn.q_proj.weight')!;
      const out = merged.get('model.layers.0.self_attn.q_proj.weight')!;
      for (let o = 0; o < 8; o++)
        for (let i = 0; i < 5; i++) {
          let delta = 0;
          for (let k = 0; k < 3; k++) delta += B.data[o * 3 + k]! * A.data[k * 5 + i]!;
          expect(Math.abs(out.data[o * 5 + i]! - (W.data[o * 5 + i]! + 2 * delta))).toBeLessThan(1e-5);
        }
      // Untouched tensors are the base's own, and the base map is unchanged.
      expect(merged.get('lm_head.weight')).toBe(weights.get('lm_head.weight'));
      expect(weights.get('model.layers.0.self_attn.q_proj.weight')).toBe(W);
    });
  }

  it("maps Tinker's model.unembed_tokens to lm_head, or to the embedding of a tied model", () => {
    const random = new Random(2);
    const adapter = new Map([
      ['base_model.model.model.unembed_tokens.lora_A.weight', tensor([3, 5], random)],
      ['base_model.model.model.unembed_tokens.lora_B.weight', tensor([11, 3], random)],
    ]);
    expect(planLoraMerge(adapter, new Map([['lm_head.weight', [11, 5]]]), 'test')[0]!.target).toBe('lm_head.weight');
    const tied = new Map([['model.embed_tokens.weight', [11, 5]]]);
    expect(planLoraMerge(adapter, tied, 'test')[0]!.target).toBe('model.embed_tokens.weight');
  });

  it('refuses unknown keys, targets the base has not, unpaired matrices and shapes that do not fit', () => {
    const random = new Random(3);
    const shapes = new Map([...base(random)].map(([name, t]) => [name, t.shape] as const));
    const A = tensor([3, 5], random);
    const B = tensor([8, 3], random);
    const q = 'base_model.model.model.layers.0.self_attn.q_proj';
    const plan = (entries: Array<[string, TensorData]>) => () => planLoraMerge(new Map(entries), shapes, 'adapter');
    expect(plan([['model.layers.0.q.weight', A]])).toThrow(/"model.layers.0.q.weight" is not a LoRA matrix/);
    expect(plan([[`${q.replace('q_proj', 'x_proj')}.lora_A.weight`, A]])).toThrow(/x_proj.weight, which the base/);
    expect(plan([[`${q}.lora_A.weight`, A]])).toThrow(/has lora_A but no lora_B/);
    expect(
      plan([
        [`${q}.lora_A.weight`, tensor([3, 4], random)],
        [`${q}.lora_B.weight`, B],
      ]),
    ).toThrow(/do not fit the base weight \[8, 5\]/);
    expect(plan([[`${q}.lora_A.weight`, A]])).toThrow(CheckpointError);
  });

  it('refuses adapter configs it cannot merge exactly', () => {
    expect(() => parseAdapterConfig({ r: 4 }, 'a.json')).toThrow(/lora_alpha/);
    expect(() => parseAdapterConfig({ r: 4, lora_alpha: 8, fan_in_fan_out: true }, 'a.json')).toThrow(/fan_in_fan_out/);
    expect(() => parseAdapterConfig({ r: 4, lora_alpha: 8, rank_pattern: { q_proj: 2 } }, 'a.json')).toThrow(
      /rank_pattern/,
    );
  });
});
