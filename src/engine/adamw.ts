/**
 * AdamW over the model's flat parameter buffer, with torch.optim.AdamW semantics (bias-corrected
 * moments, decoupled weight decay) and global-norm gradient clipping as torch's
 * `clip_grad_norm_` (coefficient max_norm / (norm + 1e-6), applied only when below 1). Weight decay
 * applies to matrices (embeddings and projections), not to norm weights or biases.
 */
import { ConfigError } from '../errors.js';
import type { FloatArray } from './kernels/kernels.js';
import { isDecayed } from './parameters.js';
import type { AdamParams } from '../training-types.js';
import type { Transformer } from './transformer.js';

/** Hyperparameters of one AdamW step: the Backend's AdamParams. */
export type AdamWSettings = AdamParams;

/** What one optimiser step measured. */
export interface AdamWStepResult {
  /** Global L2 norm of the (scaled) gradient before clipping. */
  gradNorm: number;
  /** Factor the gradient was multiplied by (clipping times `gradScale`). */
  appliedScale: number;
  /** Step count after this step (starts at 1). */
  step: number;
}

/** The AdamW optimiser state of one model: first and second moments and the step count. */
export class AdamW {
  /** First moment (same layout as the parameters). */
  readonly m: FloatArray;
  /** Second moment (same layout as the parameters). */
  readonly v: FloatArray;
  /** Steps taken so far. */
  step = 0;

  constructor(private readonly model: Transformer) {
    this.m = model.allocate(model.layout.totalSize);
    this.v = model.allocate(model.layout.totalSize);
  }

  /**
   * Applies the accumulated gradient times `gradScale` (e.g. 1/micro-batches), clipped to
   * `gradClipNorm`, then zeroes the gradient.
   */
  apply(settings: AdamWSettings, gradScale = 1): AdamWStepResult {
    validateSettings(settings);
    const { kernels, params, grads, layout } = this.model;
    const gradNorm = Math.sqrt(kernels.sumSquares(grads, grads.length)) * gradScale;
    if (!Number.isFinite(gradNorm)) {
      grads.fill(0);
      throw new ConfigError(
        `AdamW: the gradient norm is ${gradNorm}; the step was skipped (lower the learning rate or check the loss)`,
      );
    }
    let appliedScale = gradScale;
    if (settings.gradClipNorm > 0) {
      const coefficient = settings.gradClipNorm / (gradNorm + 1e-6);
      if (coefficient < 1) appliedScale *= coefficient;
    }
    this.step += 1;
    for (const tensor of layout.tensors) {
      const end = tensor.offset + tensor.size;
      kernels.adamw(
        params.subarray(tensor.offset, end),
        grads.subarray(tensor.offset, end),
        this.m.subarray(tensor.offset, end),
        this.v.subarray(tensor.offset, end),
        tensor.size,
        settings.learningRate,
        settings.beta1,
        settings.beta2,
        settings.eps,
        isDecayed(tensor) ? settings.weightDecay : 0,
        this.step,
        appliedScale,
      );
    }
    grads.fill(0);
    return { gradNorm, appliedScale, step: this.step };
  }

  /** Resets the moments and the step count. */
  reset(): void {
    this.m.fill(0);
    this.v.fill(0);
    this.step = 0;
  }
}

function validateSettings(settings: AdamWSettings): void {
  const checks: Array<[keyof AdamWSettings, boolean, string]> = [
    ['learningRate', settings.learningRate >= 0 && Number.isFinite(settings.learningRate), 'a finite number >= 0'],
    ['beta1', settings.beta1 >= 0 && settings.beta1 < 1, 'a number in [0, 1)'],
    ['beta2', settings.beta2 >= 0 && settings.beta2 < 1, 'a number in [0, 1)'],
    ['eps', settings.eps > 0, 'a number > 0'],
    ['weightDecay', settings.weightDecay >= 0, 'a number >= 0'],
    ['gradClipNorm', settings.gradClipNorm >= 0, 'a number >= 0 (0 = off)'],
  ];
  for (const [key, ok, expected] of checks) {
    if (!ok) throw new ConfigError(`AdamW: ${key} = ${settings[key]} is invalid, expected ${expected}`);
  }
}
