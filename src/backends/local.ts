/**
 * The `local` Backend: the in-process CPU engine. forward / forwardBackward run the transformer
 * over the datums in micro-batches; the loss and its gradient with respect to each target logprob
 * come from the loss module (src/loss/policy-loss.ts), and the engine backpropagates that gradient.
 * Gradients accumulate until `optimStep` applies AdamW. The sampler is an EnginePolicy on the same
 * weights, whose caches are dropped whenever the weights change.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CheckpointError, ConfigError, ShapeError } from '../errors.js';
import type { Backend } from './backend.js';
import type { Datum, LossSpec, ForwardBackwardResult, AdamParams } from '../training-types.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import type { ChatRenderer } from '../rollout/chat-renderer.js';
import { policyLoss } from '../loss/policy-loss.js';
import { normalizationScales } from '../loss/loss-normalization.js';
import { AdamW } from '../engine/adamw.js';
import { EnginePolicy, type EnginePolicyOptions } from '../engine/engine-policy.js';
import { CHECKPOINT_FILES, readCheckpoint } from '../engine/checkpoint.js';
import { LoraAdapter } from '../engine/lora/lora-adapter.js';
import { peftAdapterConfig, type LoraSpec } from '../engine/lora/lora-config.js';
import { hasPeftAdapter, peftAdapterFiles, readPeftAdapter } from '../engine/lora/peft-files.js';
import { loadModelTensors, loadOptimizerState, saveModelCheckpoint } from '../engine/model-state.js';
import { forwardBackward, forwardOnly } from '../engine/training.js';
import type { Transformer } from '../engine/transformer.js';
import type { TensorData } from '../engine/safetensors.js';

/** Options of a LocalBackend. */
export interface LocalBackendOptions {
  model: Transformer;
  tokenizer: Tokenizer;
  renderer: ChatRenderer;
  /** Directory under which `save(name)` writes `<name>/` checkpoints. */
  checkpointDirectory: string;
  /** Tokens per micro-batch, its sequences packed without padding (default 16384). */
  maxTokensPerMicroBatch?: number;
  /** Options of the sampler (slots, sequence length, rows per step). */
  sampler?: Omit<EnginePolicyOptions, 'model' | 'tokenizer'>;
  /** Extra files written into every checkpoint (e.g. `tokenizer.json`). */
  checkpointFiles?: Record<string, string | Uint8Array>;
  /** Optimiser state to continue from (default: fresh). */
  optimizer?: AdamW;
  /** The base model's name written into LoRA adapter configs (default `turnwise/local`). */
  baseModelName?: string;
}

/** Backend that trains and samples with the embedded CPU engine. */
export class LocalBackend implements Backend {
  readonly name = 'local';
  readonly tokenizer: Tokenizer;
  readonly renderer: ChatRenderer;
  readonly model: Transformer;
  readonly optimizer: AdamW;
  private readonly sampler: EnginePolicy;
  private readonly options: LocalBackendOptions;
  /** Micro-batches whose gradient is waiting for optimStep. */
  private pendingBackwards = 0;
  /** The LoRA adapter being trained, when `configureLora` started one (full weights otherwise). */
  private lora: LoraAdapter | undefined;

  constructor(options: LocalBackendOptions) {
    this.options = options;
    this.model = options.model;
    this.tokenizer = options.tokenizer;
    this.renderer = options.renderer;
    this.optimizer = options.optimizer ?? new AdamW(options.model);
    this.sampler = new EnginePolicy({ ...options.sampler, model: options.model, tokenizer: options.tokenizer });
  }

  policy(): EnginePolicy {
    return this.sampler;
  }

  async forward(data: Datum[], options: { temperature: number }): Promise<number[][]> {
    checkData(data);
    const result = forwardOnly(this.model, data, {
      temperature: options.temperature,
      maxTokensPerMicroBatch: this.options.maxTokensPerMicroBatch,
    });
    return result.logprobs.map((row) => Array.from(row));
  }

  async forwardBackward(
    data: Datum[],
    loss: LossSpec,
    options: { temperature: number },
  ): Promise<ForwardBackwardResult> {
    checkData(data);
    const normalization = loss.kind === 'cross_entropy' ? 'token-mean' : loss.normalization;
    const globalScales_B = normalizationScales(data, normalization);
    let total = 0;
    const parts: Array<Record<string, number>> = [];
    const result = forwardBackward(
      this.model,
      data,
      ({ indices, logprobs, entropy }) => {
        // The loss of this micro-batch alone, rescaled so the sum over micro-batches is the
        // loss of the whole call: each token's coefficient is global / micro-batch normalisation.
        const subset = indices.map((index) => data[index]!);
        const part = policyLoss({ data: subset, logprobs_B_T: logprobs, entropies_B_T: entropy, loss });
        const scale = scaleRatio(
          indices.map((index) => globalScales_B[index]!),
          normalizationScales(subset, normalization),
        );
        total += part.loss * scale;
        parts.push({ ...scaleSums(part.metrics, scale) });
        this.pendingBackwards += 1;
        return part.gradient_B_T.map((row) => Float64Array.from(row, (value) => value * scale));
      },
      { temperature: options.temperature, maxTokensPerMicroBatch: this.options.maxTokensPerMicroBatch },
    );
    return { logprobs: result.logprobs.map((row) => Array.from(row)), loss: total, metrics: mergeMetrics(parts) };
  }

  async configureLora(spec: LoraSpec | undefined): Promise<void> {
    this.lora?.restoreBase();
    this.lora = spec ? new LoraAdapter(this.model, spec) : undefined;
    this.model.zeroGrad();
    this.pendingBackwards = 0;
    this.sampler.invalidateCache();
  }

  /** The LoRA adapter being trained, if any. */
  get loraAdapter(): LoraAdapter | undefined {
    return this.lora;
  }

  async optimStep(params: AdamParams): Promise<Record<string, number>> {
    const step = this.lora ? this.lora.apply(params) : this.optimizer.apply(params);
    const microBatches = this.pendingBackwards;
    this.pendingBackwards = 0;
    this.sampler.invalidateCache();
    return {
      'optim/grad_norm': step.gradNorm,
      'optim/grad_scale': step.appliedScale,
      'optim/learning_rate': params.learningRate,
      'optim/step': step.step,
      'optim/micro_batches': microBatches,
    };
  }

  async save(name: string): Promise<string> {
    if (!/^[\w.-]+$/.test(name) || name === '.' || name === '..') {
      throw new ConfigError(
        `save: checkpoint name ${JSON.stringify(name)} must be a plain file name (letters, digits, '.', '-', '_')`,
      );
    }
    // Absolute, so a run's latest.json and trainer state work from any working directory.
    const path = resolve(this.options.checkpointDirectory, name);
    const files = this.options.checkpointFiles;
    const lora = this.lora;
    if (lora) {
      // The model as it samples (base + adapter, merged) in HF layout, plus the PEFT adapter and its moments.
      const config = peftAdapterConfig(lora.spec, this.options.baseModelName ?? 'turnwise/local');
      await saveModelCheckpoint(path, this.model, {
        trainerState: { lora_step: lora.step },
        files: { ...files, ...peftAdapterFiles(config, lora.tensors(), lora.optimizerTensors()) },
      });
      return path;
    }
    await saveModelCheckpoint(path, this.model, { optimizer: this.optimizer, ...(files ? { files } : {}) });
    return path;
  }

  async load(path: string, options: { optimizer: boolean }): Promise<void> {
    if (this.lora) return this.loadAdapter(path, options);
    const contents = await readCheckpoint(path, { optimizer: options.optimizer });
    loadModelTensors(this.model, contents.tensors, `${path}/model.safetensors`);
    this.optimizer.reset();
    if (options.optimizer) loadOptimizerState(this.model, this.optimizer, contents, path);
    this.model.zeroGrad();
    this.pendingBackwards = 0;
    this.sampler.invalidateCache();
  }

  async close(): Promise<void> {
    this.model.releaseActivations();
  }

  /** Loads a LoRA checkpoint's adapter (and moments) over this backend's base weights. */
  private async loadAdapter(path: string, options: { optimizer: boolean }): Promise<void> {
    const lora = this.lora!;
    if (!(await hasPeftAdapter(path)))
      throw new CheckpointError(
        `${path} holds no LoRA adapter (adapter_config.json), but this model trains a LoRA; ` +
          'load a checkpoint saved while training a LoRA of the same rank and modules',
      );
    const adapter = await readPeftAdapter(path, { optimizer: options.optimizer });
    if (adapter.config.r !== lora.spec.rank || adapter.config.lora_alpha !== lora.spec.alpha)
      throw new CheckpointError(
        `${path}: adapter r = ${adapter.config.r}, lora_alpha = ${adapter.config.lora_alpha}, ` +
          `expected the LoRA being trained (r = ${lora.spec.rank}, lora_alpha = ${lora.spec.alpha})`,
      );
    let optimizer: { tensors: Map<string, TensorData>; step: number } | undefined;
    if (options.optimizer && adapter.optimizer) {
      const state = await readFile(join(path, CHECKPOINT_FILES.trainerState), 'utf-8').catch(() => '{}');
      const step = (JSON.parse(state) as Record<string, unknown>)['lora_step'];
      optimizer = { tensors: adapter.optimizer, step: typeof step === 'number' ? step : 0 };
    }
    lora.load(adapter.tensors, path, optimizer);
    this.model.zeroGrad();
    this.pendingBackwards = 0;
    this.sampler.invalidateCache();
  }
}

function checkData(data: Datum[]): void {
  data.forEach((datum, index) => {
    if (datum.inputTokens.length !== datum.targetTokens.length || datum.weights.length !== datum.targetTokens.length) {
      throw new ShapeError(
        `datum ${index}: inputTokens (${datum.inputTokens.length}), targetTokens ` +
          `(${datum.targetTokens.length}) and weights (${datum.weights.length}) must have the same length`,
      );
    }
  });
}

/** The constant ratio global/local of the per-sequence normalisation scales over a micro-batch's trained sequences. */
function scaleRatio(global_B: number[], local_B: number[]): number {
  for (let b = 0; b < local_B.length; b++) if (local_B[b]! > 0) return global_B[b]! / local_B[b]!;
  return 0;
}

const SUMMED = new Set(['loss/policy_loss', 'loss/kl_loss']);

function scaleSums(metrics: Record<string, number>, scale: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(metrics)) out[key] = SUMMED.has(key) ? value * scale : value;
  return out;
}

/** Combines per-micro-batch statistics: sums add, min/max combine, means are weighted by tokens. */
function mergeMetrics(parts: Array<Record<string, number>>): Record<string, number> {
  if (parts.length === 1) return parts[0]!;
  const merged: Record<string, number> = {};
  const tokens = parts.reduce((sum, part) => sum + (part['loss/tokens'] ?? 0), 0);
  const keys = new Set(parts.flatMap((part) => Object.keys(part)));
  for (const key of keys) {
    const present = parts.filter((part) => key in part);
    if (key === 'loss/tokens' || SUMMED.has(key)) merged[key] = present.reduce((sum, part) => sum + part[key]!, 0);
    else if (key.endsWith('_min')) merged[key] = Math.min(...present.map((part) => part[key]!));
    else if (key.endsWith('_max')) merged[key] = Math.max(...present.map((part) => part[key]!));
    else {
      const weight = present.reduce((sum, part) => sum + (part['loss/tokens'] ?? 0), 0);
      merged[key] =
        weight > 0 ? present.reduce((sum, part) => sum + part[key]! * (part['loss/tokens'] ?? 0), 0) / weight : 0;
    }
  }
  if (tokens === 0) merged['loss/tokens'] = 0;
  return merged;
}
