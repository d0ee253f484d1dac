/**
 * The parameters of the transformer as ONE flat buffer with named views (llm.c style). Names and
 * shapes are the Hugging Face tensor names of a Llama/Qwen2 checkpoint, so checkpoints are saved
 * and loaded by name. Every tensor starts at a multiple of 16 floats (64 bytes) for the SIMD kernels.
 */
import type { FloatArray } from './kernels/kernels.js';
import { Random } from '../random.js';
import { modelDims, type ModelConfig } from './model-config.js';

/** One named tensor inside the flat buffer. */
export interface ParameterTensor {
  /** Hugging Face name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  name: string;
  /** Shape in the Hugging Face layout (linear weights are `(out_features, in_features)`). */
  shape: number[];
  /** Offset in floats into the flat buffer. */
  offset: number;
  /** Number of elements. */
  size: number;
}

/** The layout of all parameters of one config. */
export interface ParameterLayout {
  tensors: ParameterTensor[];
  /** Floats in the flat buffer (alignment padding included). */
  totalSize: number;
  /** Parameters proper (padding excluded). */
  parameterCount: number;
}

const ALIGN = 16;

/** The HF names and shapes of every parameter of `config`, in checkpoint order. */
export function parameterShapes(config: ModelConfig): Array<{ name: string; shape: number[] }> {
  const { L, C, H, KVH, D, F, V, qkvBias } = modelDims(config);
  const shapes: Array<{ name: string; shape: number[] }> = [{ name: 'model.embed_tokens.weight', shape: [V, C] }];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    shapes.push({ name: `${p}input_layernorm.weight`, shape: [C] });
    shapes.push({ name: `${p}self_attn.q_proj.weight`, shape: [H * D, C] });
    if (qkvBias) shapes.push({ name: `${p}self_attn.q_proj.bias`, shape: [H * D] });
    shapes.push({ name: `${p}self_attn.k_proj.weight`, shape: [KVH * D, C] });
    if (qkvBias) shapes.push({ name: `${p}self_attn.k_proj.bias`, shape: [KVH * D] });
    shapes.push({ name: `${p}self_attn.v_proj.weight`, shape: [KVH * D, C] });
    if (qkvBias) shapes.push({ name: `${p}self_attn.v_proj.bias`, shape: [KVH * D] });
    shapes.push({ name: `${p}self_attn.o_proj.weight`, shape: [C, H * D] });
    shapes.push({ name: `${p}post_attention_layernorm.weight`, shape: [C] });
    shapes.push({ name: `${p}mlp.gate_proj.weight`, shape: [F, C] });
    shapes.push({ name: `${p}mlp.up_proj.weight`, shape: [F, C] });
    shapes.push({ name: `${p}mlp.down_proj.weight`, shape: [C, F] });
  }
  shapes.push({ name: 'model.norm.weight', shape: [C] });
  if (!config.tie_word_embeddings) shapes.push({ name: 'lm_head.weight', shape: [V, C] });
  return shapes;
}

/** Offsets of every parameter in the flat buffer. */
export function parameterLayout(config: ModelConfig): ParameterLayout {
  const tensors: ParameterTensor[] = [];
  let offset = 0;
  let parameterCount = 0;
  for (const { name, shape } of parameterShapes(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, shape, offset, size });
    parameterCount += size;
    offset += Math.ceil(size / ALIGN) * ALIGN;
  }
  return { tensors, totalSize: offset, parameterCount };
}

/** Named views into one flat buffer (parameters or their gradients). */
export function tensorViews<A extends FloatArray>(buffer: A, layout: ParameterLayout): Map<string, A> {
  const views = new Map<string, A>();
  for (const tensor of layout.tensors) {
    views.set(tensor.name, buffer.subarray(tensor.offset, tensor.offset + tensor.size) as A);
  }
  return views;
}

/** True for tensors AdamW decays: matrices (embeddings, projections), not norms or biases. */
export function isDecayed(tensor: ParameterTensor): boolean {
  return tensor.shape.length >= 2;
}

/**
 * Deterministic initialisation from `seed`: matrices ~ N(0, 0.02) (the residual output projections
 * o_proj and down_proj scaled by 1/sqrt(2L), as GPT-2), norm weights 1, biases 0.
 */
export function initializeParameters(
  buffer: FloatArray,
  layout: ParameterLayout,
  config: ModelConfig,
  seed: number,
): void {
  const random = new Random(seed);
  buffer.fill(0);
  const residualScale = 1 / Math.sqrt(2 * config.num_hidden_layers);
  for (const tensor of layout.tensors) {
    const view = buffer.subarray(tensor.offset, tensor.offset + tensor.size);
    if (tensor.name.endsWith('layernorm.weight') || tensor.name === 'model.norm.weight') {
      view.fill(1);
    } else if (tensor.shape.length >= 2) {
      const isResidual = tensor.name.endsWith('o_proj.weight') || tensor.name.endsWith('down_proj.weight');
      const std = 0.02 * (isResidual ? residualScale : 1);
      for (let i = 0; i < view.length; i++) view[i] = random.normal() * std;
    }
  }
}
