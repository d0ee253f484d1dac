/**
 * Parity of the engine with PyTorch on a fixture written by scripts/make-torch-fixture.py (weights,
 * token ids, and PyTorch's float64 logits and gradients of the mean cross-entropy over all
 * positions): the worst relative errors of the engine's float32 logits and gradients.
 */
import { readCheckpoint } from './checkpoint.js';
import type { Kernels } from './kernels/kernels.js';
import { parseModelConfig } from './model-config.js';
import { loadModelTensors } from './model-state.js';
import { readSafetensors } from './safetensors.js';
import { Transformer } from './transformer.js';

/** Worst relative errors of one parity run. */
export interface TorchParityResult {
  /** max |ours - torch| / max |torch| over the logits (B,T,V). */
  logits: number;
  /** The same over each gradient tensor, worst tensor. */
  gradients: number;
  worstTensor: string;
}

/** max |a-b| / max|b| over a tensor (relative to the tensor's scale). */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return worst / Math.max(scale, 1e-12);
}

/** Runs a fixture directory through the engine and returns the worst logit and gradient relative errors. */
export async function torchParity(directory: string, kernels: Kernels): Promise<TorchParityResult> {
  const checkpoint = await readCheckpoint(directory);
  const model = new Transformer({ config: parseModelConfig(checkpoint.config), kernels });
  loadModelTensors(model, checkpoint.tensors, directory);
  const { tensors } = await readSafetensors(`${directory}/expected.safetensors`);
  const logitsExpected = tensors.get('logits')!;
  const [B, T] = logitsExpected.shape as [number, number, number];
  const batch = { B, T, inputIds: tensors.get('input_ids')!.data, targets: tensors.get('target_ids')!.data };
  const { logits } = model.forward(batch);
  const logitsError = relativeError(logits, logitsExpected.data);
  model.zeroGrad();
  model.backward(new Float32Array(B * T).fill(-1 / (B * T))); // loss = -mean(logprob)
  let gradients = 0;
  let worstTensor = '';
  for (const tensor of model.layout.tensors) {
    const error = relativeError(
      model.grads.subarray(tensor.offset, tensor.offset + tensor.size),
      tensors.get(`grad.${tensor.name}`)!.data,
    );
    if (error > gradients) [gradients, worstTensor] = [error, tensor.name];
  }
  return { logits: logitsError, gradients, worstTensor };
}
