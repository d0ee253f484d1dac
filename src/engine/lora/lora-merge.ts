/**
 * Merging LoRA adapters into base weights: W' = W + s B A with A (r, in), B (out, r) and s the
 * adapter's scale (lora_alpha / r). `loraWeight` is the one place the update is computed (the
 * engine's LoRA training rematerialises its weights with it, `mergeLoraAdapter` merges a PEFT
 * adapter into a Hugging Face checkpoint's tensors). Adapter keys are PEFT's
 * (`base_model.model.<module>.lora_A.weight`); Tinker's `model.unembed_tokens` is the LM head, or
 * the embedding of a tied model, as in tinker-cookbook's merge. Unknown keys, unpaired matrices and
 * shapes that do not fit the base are refused, naming the key.
 */
import { CheckpointError } from '../../errors.js';
import type { FloatArray, Kernels } from '../kernels/kernels.js';
import type { TensorData } from '../safetensors.js';
import { adapterScale, type AdapterConfig } from './lora-config.js';

/** dest(out,in) = base(out,in) + scale * B(out,r) . A(r,in); `dest` is another buffer than `base`, A and B. */
export function loraWeight(
  kernels: Kernels,
  dest: FloatArray,
  base: FloatArray,
  A: FloatArray,
  B: FloatArray,
  scale: number,
  dims: { out: number; in: number; rank: number },
): void {
  const { out, in: inner, rank } = dims;
  const transposedA = new Float32Array(inner * rank); // (in, r)
  for (let k = 0; k < rank; k++) for (let i = 0; i < inner; i++) transposedA[i * rank + k] = A[k * inner + i]!;
  kernels.matmulForward(dest, B, transposedA, null, out, rank, inner); // dest(out,in) = B . A
  for (let i = 0; i < out * inner; i++) dest[i] = base[i]! + scale * dest[i]!;
}

/** One planned merge: the base tensor it changes and the adapter's matrices. */
export interface LoraMergeOp {
  target: string;
  A: TensorData;
  B: TensorData;
}

const KEY = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/;

/**
 * Pairs an adapter's A and B matrices with the base tensors they change, checking every key and
 * shape against `baseShapes`; a CheckpointError names the first problem.
 */
export function planLoraMerge(
  adapter: ReadonlyMap<string, TensorData>,
  baseShapes: ReadonlyMap<string, readonly number[]>,
  source: string,
): LoraMergeOp[] {
  const pairs = new Map<string, { A?: TensorData; B?: TensorData }>();
  for (const [key, tensor] of adapter) {
    const match = KEY.exec(key);
    if (!match)
      throw new CheckpointError(
        `${source}: adapter key ${JSON.stringify(key)} is not a LoRA matrix; expected ` +
          'base_model.model.<module>.lora_A.weight or .lora_B.weight',
      );
    let module = match[1]!;
    if (module === 'model.unembed_tokens') module = baseShapes.has('lm_head.weight') ? 'lm_head' : 'model.embed_tokens';
    const target = `${module}.weight`;
    if (!baseShapes.has(target))
      throw new CheckpointError(
        `${source}: adapter key ${JSON.stringify(key)} adapts ${target}, which the base model has not`,
      );
    const pair = pairs.get(target) ?? {};
    pair[match[2] as 'A' | 'B'] = tensor;
    pairs.set(target, pair);
  }
  const ops: LoraMergeOp[] = [];
  for (const [target, { A, B }] of pairs) {
    if (!A || !B)
      throw new CheckpointError(`${source}: ${target} has lora_${A ? 'A' : 'B'} but no lora_${A ? 'B' : 'A'} matrix`);
    const [out, inner] = baseShapes.get(target)!;
    const rank = A.shape[0];
    const fits =
      A.shape.length === 2 && B.shape.length === 2 && A.shape[1] === inner && B.shape[0] === out && B.shape[1] === rank;
    if (!fits)
      throw new CheckpointError(
        `${source}: the adapter of ${target} has lora_A [${A.shape.join(', ')}] and lora_B [${B.shape.join(', ')}], ` +
          `which do not fit the base weight [${out}, ${inner}] (expected lora_A [r, ${inner}], lora_B [${out}, r])`,
      );
    ops.push({ target, A, B });
  }
  return ops;
}

/**
 * The base tensors with an adapter merged in (W + s B A for every adapted weight; the others are the
 * base's own arrays). The base map is not changed.
 */
export function mergeLoraAdapter(options: {
  kernels: Kernels;
  base: ReadonlyMap<string, TensorData>;
  adapter: ReadonlyMap<string, TensorData>;
  config: AdapterConfig;
  source: string;
}): Map<string, TensorData> {
  const { kernels, base, adapter, config, source } = options;
  const shapes = new Map([...base].map(([name, tensor]) => [name, tensor.shape] as const));
  const ops = planLoraMerge(adapter, shapes, source);
  const scale = adapterScale(config);
  const merged = new Map(base);
  for (const { target, A, B } of ops) {
    const weight = base.get(target)!;
    if (A.shape[0] !== config.r)
      throw new CheckpointError(
        `${source}: the adapter of ${target} has rank ${A.shape[0]}, but adapter_config.json says r = ${config.r}`,
      );
    const data = new Float32Array(weight.data.length);
    const [out, inner] = weight.shape as [number, number];
    loraWeight(kernels, data, weight.data, A.data, B.data, scale, { out, in: inner, rank: config.r });
    merged.set(target, { shape: weight.shape, data });
  }
  return merged;
}
