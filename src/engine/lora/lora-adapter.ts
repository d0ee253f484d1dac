/**
 * LoRA training on the engine, by the chain rule from the full-weight gradient. The model keeps
 * computing dW for every weight as in full fine-tuning; for an adapted weight W = W0 + s B A,
 * dA = s B^T dW and dB = s dW A^T (exact, as dW is accumulated at fixed W between steps). AdamW
 * then updates A and B only (every other weight is frozen: its gradient is dropped) and each adapted
 * weight is rematerialised as W0 + s B A, so forward, backward and sampling run unchanged on the
 * merged weights. A starts as PEFT's default (uniform in +-1/sqrt(in)), B as zero, so a new adapter
 * leaves the model as it was. This costs a full backward (no memory saved), and buys an adapter in
 * PEFT's format that merges into the base exactly as a service's LoRA does.
 */
import { CheckpointError, ConfigError } from '../../errors.js';
import { Random } from '../../random.js';
import type { AdamWSettings, AdamWStepResult } from '../adamw.js';
import type { Transformer } from '../transformer.js';
import type { TensorData } from '../safetensors.js';
import { checkLoraSpec, loraTargets, peftTensorName, type LoraSpec, type LoraTarget } from './lora-config.js';
import { loraWeight } from './lora-merge.js';

const ALIGN = 16;

interface Slot {
  target: LoraTarget;
  /** Offset of the base weight in the model's flat buffers. */
  modelOffset: number;
  /** Offsets of A (r, in) and B (out, r) in the adapter's flat buffers. */
  a: number;
  b: number;
  /** The frozen base weight W0 (out, in). */
  base: Float32Array;
}

/** A trainable LoRA over a model's weights, with its own AdamW state. */
export class LoraAdapter {
  readonly spec: LoraSpec;
  /** alpha / rank. */
  readonly scale: number;
  readonly targets: LoraTarget[];
  /** Every A and B, flat; their gradients and AdamW moments in the same layout. */
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Optimiser steps taken. */
  step = 0;
  private readonly slots: Slot[];

  /** Starts a fresh adapter over the model's current weights, which become the frozen base W0. */
  constructor(
    private readonly model: Transformer,
    spec: LoraSpec,
  ) {
    this.spec = checkLoraSpec(spec);
    this.scale = spec.alpha / spec.rank;
    this.targets = loraTargets(model.config, spec);
    if (this.targets.length === 0)
      throw new ConfigError(
        `LoRA modules ${spec.modules.join(', ')} adapt no weight of this model (a tied model has no separate lm_head)`,
      );
    const offsets = new Map(model.layout.tensors.map((tensor) => [tensor.name, tensor.offset]));
    const r = spec.rank;
    let size = 0;
    const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;
    this.slots = this.targets.map((target) => {
      const modelOffset = offsets.get(target.name)!;
      const slot: Slot = {
        target,
        modelOffset,
        a: size,
        b: size + align(r * target.in),
        base: Float32Array.from(model.params.subarray(modelOffset, modelOffset + target.out * target.in)),
      };
      size = slot.b + align(target.out * r);
      return slot;
    });
    this.params = new Float32Array(size);
    this.grads = new Float32Array(size);
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
    const random = new Random(spec.seed);
    for (const slot of this.slots) {
      const bound = 1 / Math.sqrt(slot.target.in);
      const A = this.params.subarray(slot.a, slot.a + r * slot.target.in);
      for (let i = 0; i < A.length; i++) A[i] = (2 * random.next() - 1) * bound;
    }
  }

  /**
   * Turns the model's accumulated gradient into the gradient of A and B, applies AdamW to them
   * (clipped to `gradClipNorm` over the adapter's gradient), rematerialises the adapted weights
   * and zeroes the model's gradient.
   */
  apply(settings: AdamWSettings): AdamWStepResult {
    const { kernels, grads: modelGrads } = this.model;
    const r = this.spec.rank;
    this.grads.fill(0);
    for (const slot of this.slots) {
      const { out, in: inner } = slot.target;
      const dW = modelGrads.subarray(slot.modelOffset, slot.modelOffset + out * inner) as Float32Array;
      const A = this.params.subarray(slot.a, slot.a + r * inner);
      const B = this.params.subarray(slot.b, slot.b + out * r);
      const dA = this.grads.subarray(slot.a, slot.a + r * inner);
      const dB = this.grads.subarray(slot.b, slot.b + out * r);
      kernels.matmulForward(dB, dW, A, null, out, inner, r); // dB(out,r) = dW . A^T
      kernels.matmulBackward(null, dA, null, B, dW, A, out, inner, r); // dA(r,in) = B^T . dW
      for (let i = 0; i < dA.length; i++) dA[i]! *= this.scale;
      for (let i = 0; i < dB.length; i++) dB[i]! *= this.scale;
    }
    modelGrads.fill(0);
    const gradNorm = Math.sqrt(kernels.sumSquares(this.grads, this.grads.length));
    if (!Number.isFinite(gradNorm))
      throw new ConfigError(
        `LoRA AdamW: the gradient norm is ${gradNorm}; the step was skipped ` +
          '(lower the learning rate or check the loss)',
      );
    let appliedScale = 1;
    if (settings.gradClipNorm > 0) appliedScale = Math.min(1, settings.gradClipNorm / (gradNorm + 1e-6));
    this.step += 1;
    for (const slot of this.slots) {
      for (const [offset, size] of [
        [slot.a, r * slot.target.in],
        [slot.b, slot.target.out * r],
      ] as const) {
        const end = offset + size;
        kernels.adamw(
          this.params.subarray(offset, end),
          this.grads.subarray(offset, end),
          this.m.subarray(offset, end),
          this.v.subarray(offset, end),
          size,
          settings.learningRate,
          settings.beta1,
          settings.beta2,
          settings.eps,
          settings.weightDecay,
          this.step,
          appliedScale,
        );
      }
    }
    this.rematerialise();
    return { gradNorm, appliedScale, step: this.step };
  }

  /** Writes W0 + s B A into every adapted weight of the model. */
  rematerialise(): void {
    const r = this.spec.rank;
    for (const slot of this.slots) {
      const { out, in: inner } = slot.target;
      loraWeight(
        this.model.kernels,
        this.model.params.subarray(slot.modelOffset, slot.modelOffset + out * inner),
        slot.base,
        this.params.subarray(slot.a, slot.a + r * inner),
        this.params.subarray(slot.b, slot.b + out * r),
        this.scale,
        { out, in: inner, rank: r },
      );
    }
  }

  /** Puts the base weights W0 back into the model (the adapter is dropped). */
  restoreBase(): void {
    for (const slot of this.slots) this.model.params.set(slot.base, slot.modelOffset);
  }

  /** A and B by PEFT tensor name (copies). */
  tensors(): Map<string, TensorData> {
    return this.named(this.params, '');
  }

  /** The AdamW moments as `exp_avg.<PEFT name>` and `exp_avg_sq.<PEFT name>` (copies). */
  optimizerTensors(): Map<string, TensorData> {
    return new Map([...this.named(this.m, 'exp_avg.'), ...this.named(this.v, 'exp_avg_sq.')]);
  }

  /**
   * Loads A and B (and, when given, the AdamW moments and step) saved by `tensors` /
   * `optimizerTensors`, then rematerialises; names and shapes must match this adapter exactly.
   */
  load(
    tensors: ReadonlyMap<string, TensorData>,
    source: string,
    optimizer?: { tensors: ReadonlyMap<string, TensorData>; step: number },
  ): void {
    const expected = this.named(this.params, '');
    for (const name of tensors.keys())
      if (!expected.has(name))
        throw new CheckpointError(
          `${source}: adapter tensor ${name} is not part of this LoRA (rank ${this.spec.rank})`,
        );
    const copy = (buffer: Float32Array, from: ReadonlyMap<string, TensorData>, prefix: string): void => {
      for (const [name, { shape }] of expected) {
        const given = from.get(prefix + name);
        if (!given || given.shape.join(',') !== shape.join(','))
          throw new CheckpointError(
            `${source}: ${prefix}${name} is ${given ? `[${given.shape.join(', ')}]` : 'missing'}, ` +
              `expected [${shape.join(', ')}]`,
          );
        buffer.set(given.data, this.offsetOf(name));
      }
    };
    copy(this.params, tensors, '');
    if (optimizer) {
      copy(this.m, optimizer.tensors, 'exp_avg.');
      copy(this.v, optimizer.tensors, 'exp_avg_sq.');
      this.step = optimizer.step;
    } else {
      this.m.fill(0);
      this.v.fill(0);
      this.step = 0;
    }
    this.rematerialise();
  }

  private offsetOf(peftName: string): number {
    for (const slot of this.slots) {
      if (peftName === peftTensorName(slot.target.module, 'A')) return slot.a;
      if (peftName === peftTensorName(slot.target.module, 'B')) return slot.b;
    }
    throw new CheckpointError(`adapter tensor ${peftName} is not part of this LoRA`);
  }

  private named(buffer: Float32Array, prefix: string): Map<string, TensorData> {
    const r = this.spec.rank;
    const tensors = new Map<string, TensorData>();
    for (const slot of this.slots) {
      const { out, in: inner, module } = slot.target;
      tensors.set(prefix + peftTensorName(module, 'A'), {
        shape: [r, inner],
        data: Float32Array.from(buffer.subarray(slot.a, slot.a + r * inner)),
      });
      tensors.set(prefix + peftTensorName(module, 'B'), {
        shape: [out, r],
        data: Float32Array.from(buffer.subarray(slot.b, slot.b + out * r)),
      });
    }
    return tensors;
  }
}
