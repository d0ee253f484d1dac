/**
 * Forward and backward over a list of variable-length sequences, in micro-batches packed without
 * padding (`micro-batches.ts`): the engine computes each target's logprob (and the entropy) under a
 * temperature, asks the caller's loss for dLoss/dlogprob of every target, and backpropagates it,
 * accumulating the parameter gradient over micro-batches (gradient accumulation). Also the masked
 * cross-entropy loss for pretraining / SFT.
 */
import { ShapeError } from '../errors.js';
import { packMicroBatch, planMicroBatches, type TrainingSequence } from './micro-batches.js';
import type { Transformer } from './transformer.js';

/** Per-sequence values of one micro-batch handed to a loss. */
export interface MicroBatchOutputs {
  /** Indices of the sequences in this micro-batch (into the full list). */
  indices: number[];
  /** Logprob of each target under the temperature, per sequence of the micro-batch. */
  logprobs: Float64Array[];
  /** Entropy of each position's distribution under the temperature, per sequence. */
  entropy: Float64Array[];
}

/** Returns dLoss/dlogprob for every target of every sequence of the micro-batch (same lengths as `logprobs`). */
export type LogprobGradient = (outputs: MicroBatchOutputs) => ArrayLike<number>[];

/** Options of `forwardBackward` / `forwardOnly`. */
export interface SequencePassOptions {
  /** Softmax temperature of the logprobs (> 0). */
  temperature: number;
  /** Budget of tokens per micro-batch, its sequences packed without padding (default 16384). */
  maxTokensPerMicroBatch?: number;
}

/** What a pass over the sequences computed. */
export interface SequencePassResult {
  /** Logprob of each target, per sequence (input order). */
  logprobs: Float64Array[];
  /** Entropy at each position, per sequence (input order). */
  entropy: Float64Array[];
}

const DEFAULT_MICRO_BATCH_TOKENS = 16384;

/** Forward only: logprobs and entropies of every target, no gradient. */
export function forwardOnly(
  model: Transformer,
  sequences: TrainingSequence[],
  options: SequencePassOptions,
): SequencePassResult {
  return run(model, sequences, options, null);
}

/** Forward and backward: the gradient of the loss defined by `gradient` is ADDED to model.grads. */
export function forwardBackward(
  model: Transformer,
  sequences: TrainingSequence[],
  gradient: LogprobGradient,
  options: SequencePassOptions,
): SequencePassResult {
  return run(model, sequences, options, gradient);
}

/**
 * The gradient of the weighted mean negative log-likelihood, -sum(w*logprob)/sum(w) over all
 * sequences (weights per target, 0 on padding and prompt tokens); also returns the loss value.
 */
export function crossEntropyGradient(weights: ArrayLike<number>[]): {
  gradient: LogprobGradient;
  loss: (logprobs: Float64Array[]) => number;
} {
  let totalWeight = 0;
  for (const row of weights) for (let t = 0; t < row.length; t++) totalWeight += row[t]!;
  const scale = totalWeight > 0 ? -1 / totalWeight : 0;
  return {
    gradient: ({ indices }) =>
      indices.map((index) => {
        const row = weights[index]!;
        const out = new Float64Array(row.length);
        for (let t = 0; t < row.length; t++) out[t] = row[t]! * scale;
        return out;
      }),
    loss: (logprobs) => {
      let sum = 0;
      logprobs.forEach((row, index) => {
        for (let t = 0; t < row.length; t++) sum += weights[index]![t]! * row[t]!;
      });
      return sum * scale;
    },
  };
}

function run(
  model: Transformer,
  sequences: TrainingSequence[],
  options: SequencePassOptions,
  gradient: LogprobGradient | null,
): SequencePassResult {
  const lengths = sequences.map((sequence) => sequence.inputTokens.length);
  const groups = planMicroBatches(lengths, options.maxTokensPerMicroBatch ?? DEFAULT_MICRO_BATCH_TOKENS);
  const logprobs: Float64Array[] = new Array(sequences.length);
  const entropy: Float64Array[] = new Array(sequences.length);
  for (const indices of groups) {
    const batch = packMicroBatch(sequences, indices, model.dims.V);
    const { N, offsets } = batch;
    const out = model.forward(
      { B: 1, T: N, inputIds: batch.inputIds, targets: batch.targets, offsets },
      options.temperature,
    );
    const batchLogprobs: Float64Array[] = [];
    const batchEntropy: Float64Array[] = [];
    indices.forEach((index, i) => {
      const [start, end] = [offsets[i]!, offsets[i + 1]!];
      logprobs[index] = Float64Array.from(out.logprobs.subarray(start, end));
      entropy[index] = Float64Array.from(out.entropy.subarray(start, end));
      batchLogprobs.push(logprobs[index]);
      batchEntropy.push(entropy[index]);
    });
    if (!gradient) continue;
    const dlogprobsPerSequence = gradient({ indices, logprobs: batchLogprobs, entropy: batchEntropy });
    const dlogprobs = model.allocate(N); // (N)
    indices.forEach((index, i) => {
      const values = dlogprobsPerSequence[i];
      if (!values || values.length !== lengths[index]) {
        throw new ShapeError(
          `loss gradient for sequence ${index} has ${values?.length} entries, expected ${lengths[index]}`,
        );
      }
      if (ArrayBuffer.isView(values)) dlogprobs.set(values as Float64Array, offsets[i]!);
      else for (let t = 0; t < values.length; t++) dlogprobs[offsets[i]! + t] = values[t]!;
    });
    model.backward(dlogprobs);
  }
  return { logprobs, entropy };
}
