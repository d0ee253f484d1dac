import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalBackend } from '../../backends/create-local-backend.js';
import type { LocalBackend } from '../../backends/local.js';
import { ConfigError } from '../../errors.js';
import { Random } from '../../random.js';
import type { ChatRenderer } from '../../rollout/chat-renderer.js';
import type { Tokenizer } from '../../rollout/tokenizer.js';
import type { Datum } from '../../training-types.js';
import { referenceKernels } from '../kernels/reference/index.js';
import { Transformer } from '../transformer.js';
import { parseModelConfig } from '../model-config.js';
import { LoraAdapter } from './lora-adapter.js';
import { loraSpecFromTinker, type LoraSpec } from './lora-config.js';

const V = 20;
const MODEL_CONFIG = {
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  intermediate_size: 24,
  vocab_size: V,
  max_position_embeddings: 64,
};
const SPEC: LoraSpec = loraSpecFromTinker({ rank: 4, seed: 7 }, 8);
const ADAM = { learningRate: 5e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClipNorm: 0 };
const tokenizer: Tokenizer = {
  vocabSize: V,
  eosTokenId: 0,
  encode: (text) => Array.from(text, (c) => c.charCodeAt(0) % V),
  decode: (ids) => ids.map((id) => String.fromCharCode(97 + id)).join(''),
  tokenId: () => undefined,
};
const renderer: ChatRenderer = { renderPrompt: () => [1, 2], renderReply: () => [3], stopTokenIds: [0] };
const directory = await mkdtemp(join(tmpdir(), 'turnwise-lora-'));
afterAll(() => rm(directory, { recursive: true, force: true }));

function model(): Transformer {
  return new Transformer({ config: parseModelConfig(MODEL_CONFIG), kernels: referenceKernels, seed: 5 });
}

function backend(name: string): Promise<LocalBackend> {
  return createLocalBackend({
    modelConfig: MODEL_CONFIG,
    seed: 5,
    kernels: referenceKernels,
    tokenizer,
    renderer,
    checkpointDirectory: join(directory, name),
  });
}

function data(): Datum[] {
  const random = new Random(3);
  return Array.from({ length: 3 }, () => {
    const tokens = Array.from({ length: 9 }, () => random.int(V));
    return { inputTokens: tokens.slice(0, -1), targetTokens: tokens.slice(1), weights: tokens.slice(1).map(() => 1) };
  });
}

function randomFill(array: Float32Array, random: Random, scale: number): void {
  for (let i = 0; i < array.length; i++) array[i] = random.normal() * scale;
}

describe('LoraAdapter', () => {
  it('starts with B = 0, leaving the weights as they were', () => {
    const net = model();
    const before = Float32Array.from(net.params);
    const adapter = new LoraAdapter(net, SPEC);
    adapter.rematerialise();
    expect(net.params).toEqual(before);
    expect(adapter.targets.map((target) => target.module)).toContain('lm_head');
  });

  it('turns dW into dA = s B^T dW and dB = s dW A^T (float64 reference)', () => {
    const net = model();
    const adapter = new LoraAdapter(net, SPEC);
    const random = new Random(11);
    const tensors = adapter.tensors();
    for (const tensor of tensors.values()) randomFill(tensor.data, random, 0.3);
    adapter.load(tensors, 'test');
    randomFill(net.grads as Float32Array, random, 1);
    const dW = Float32Array.from(net.grads);
    adapter.apply({ ...ADAM, learningRate: 0 });
    const offsets = new Map(net.layout.tensors.map((tensor) => [tensor.name, tensor.offset]));
    const grads = new LoraAdapter(model(), SPEC); // only for its layout: the same names in the same order
    let index = 0;
    for (const target of adapter.targets) {
      const r = SPEC.rank;
      const A = tensors.get(`base_model.model.${target.module}.lora_A.weight`)!.data;
      const B = tensors.get(`base_model.model.${target.module}.lora_B.weight`)!.data;
      const base = offsets.get(target.name)!;
      const s = SPEC.alpha / SPEC.rank;
      const dA = adapter.grads.subarray(gradOffset(grads, index, 'A'));
      const dB = adapter.grads.subarray(gradOffset(grads, index, 'B'));
      for (let k = 0; k < r; k++)
        for (let i = 0; i < target.in; i++) {
          let sum = 0;
          for (let o = 0; o < target.out; o++) sum += B[o * r + k]! * dW[base + o * target.in + i]!;
          expect(dA[k * target.in + i]).toBeCloseTo(s * sum, 4);
        }
      for (let o = 0; o < target.out; o++)
        for (let k = 0; k < r; k++) {
          let sum = 0;
          for (let i = 0; i < target.in; i++) sum += dW[base + o * target.in + i]! * A[k * target.in + i]!;
          expect(dB[o * r + k]).toBeCloseTo(s * sum, 4);
        }
      index++;
    }
    expect(net.grads.every((value) => value === 0)).toBe(true);
  });

  it('trains A and B only: frozen weights stay bit-identical, adapted ones are W0 + s B A, loss falls', async () => {
    const local = await backend('train');
    const base = Float32Array.from(local.model.params);
    await local.configureLora(SPEC);
    const losses: number[] = [];
    for (let step = 0; step < 4; step++) {
      losses.push((await local.forwardBackward(data(), { kind: 'cross_entropy' }, { temperature: 1 })).loss);
      await local.optimStep(ADAM);
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    const adapter = local.loraAdapter!;
    const adapted = new Set(adapter.targets.map((target) => target.name));
    const tensors = adapter.tensors();
    const s = SPEC.alpha / SPEC.rank;
    for (const tensor of local.model.layout.tensors) {
      const now = local.model.params.subarray(tensor.offset, tensor.offset + tensor.size);
      const then = base.subarray(tensor.offset, tensor.offset + tensor.size);
      if (!adapted.has(tensor.name)) {
        expect(
          Buffer.from(now.buffer, now.byteOffset, now.byteLength).equals(
            Buffer.from(then.buffer, then.byteOffset, then.byteLength),
          ),
        ).toBe(true);
        continue;
      }
      const module = tensor.name.slice(0, -'.weight'.length);
      const A = tensors.get(`base_model.model.${module}.lora_A.weight`)!;
      const B = tensors.get(`base_model.model.${module}.lora_B.weight`)!;
      const [out, inner] = tensor.shape as [number, number];
      let largest = 0;
      for (let o = 0; o < out; o++)
        for (let i = 0; i < inner; i++) {
          let delta = 0;
          for (let k = 0; k < SPEC.rank; k++) delta += B.data[o * SPEC.rank + k]! * A.data[k * inner + i]!;
          largest = Math.max(largest, Math.abs(now[o * inner + i]! - (then[o * inner + i]! + s * delta)));
        }
      expect(largest).toBeLessThan(1e-6);
    }
  });

  it('saves a PEFT adapter with the merged weights and loads it back onto the base exactly', async () => {
    const trained = await backend('save');
    await trained.configureLora(SPEC);
    await trained.forwardBackward(data(), { kind: 'cross_entropy' }, { temperature: 1 });
    await trained.optimStep(ADAM);
    const path = await trained.save('step-1');
    const resumed = await backend('load');
    await resumed.configureLora(SPEC);
    await resumed.load(path, { optimizer: true });
    expect(resumed.model.params).toEqual(trained.model.params);
    expect(resumed.loraAdapter!.m).toEqual(trained.loraAdapter!.m);
    expect(resumed.loraAdapter!.step).toBe(1);
    // Back to full weights: the base returns.
    await resumed.configureLora(undefined);
    const fresh = await backend('fresh');
    expect(resumed.model.params).toEqual(fresh.model.params);
  });

  it('refuses a spec that adapts nothing or a bad rank, naming it', () => {
    const tied = new Transformer({
      config: parseModelConfig({ ...MODEL_CONFIG, tie_word_embeddings: true }),
      kernels: referenceKernels,
    });
    expect(() => new LoraAdapter(tied, { ...SPEC, modules: ['lm_head'] })).toThrow(/adapt no weight/);
    expect(() => new LoraAdapter(model(), { ...SPEC, rank: 0 })).toThrow(ConfigError);
  });
});

/** Offset of the i-th target's A or B in an adapter's flat buffers. */
function gradOffset(adapter: LoraAdapter, index: number, matrix: 'A' | 'B'): number {
  let offset = 0;
  const align = (n: number): number => Math.ceil(n / 16) * 16;
  for (let i = 0; i < adapter.targets.length; i++) {
    const target = adapter.targets[i]!;
    if (i === index && matrix === 'A') return offset;
    offset += align(adapter.spec.rank * target.in);
    if (i === index) return offset;
    offset += align(target.out * adapter.spec.rank);
  }
  throw new Error('no such target');
}
