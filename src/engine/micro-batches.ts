/**
 * Packing of variable-length training sequences into micro-batches without padding: each
 * micro-batch is one row of N positions holding its sequences back to back, split by `offsets`
 * (positions restart at 0 and attention stays within each sequence, see `TokenBatch.offsets`).
 * Sequences go longest first, so the native attention starts the longest ones first and the
 * threads finish together; a micro-batch's total length stays within a token budget.
 */
import { ShapeError } from '../errors.js';

/** One training sequence: the fed tokens and the token each position predicts (same length). */
export interface TrainingSequence {
  inputTokens: ArrayLike<number>;
  targetTokens: ArrayLike<number>;
}

/** Some of the sequences packed back to back in one row. */
export interface MicroBatch {
  /** Index into the sequence list of each packed sequence, in packing order. */
  indices: number[];
  /** Start of each packed sequence in the row, then N (indices.length + 1). */
  offsets: Int32Array;
  /** Positions in the row: the sum of the sequences' lengths. */
  N: number;
  /** (N) */
  inputIds: Int32Array;
  /** (N) */
  targets: Int32Array;
}

/**
 * Groups sequence indices, longest first, so that each group's total length is at most
 * `maxTokens` (a longer sequence gets its own group).
 */
export function planMicroBatches(lengths: number[], maxTokens: number): number[][] {
  if (!(maxTokens > 0)) throw new ShapeError(`planMicroBatches: maxTokens must be > 0, got ${maxTokens}`);
  const order = lengths.map((_, index) => index).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const groups: number[][] = [];
  let current: number[] = [];
  let total = 0;
  for (const index of order) {
    if (current.length > 0 && total + lengths[index]! > maxTokens) {
      groups.push(current);
      current = [];
      total = 0;
    }
    current.push(index);
    total += lengths[index]!;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** Packs the sequences at `indices` back to back into one row; checks ids are in [0, vocabSize). */
export function packMicroBatch(sequences: TrainingSequence[], indices: number[], vocabSize: number): MicroBatch {
  const offsets = new Int32Array(indices.length + 1);
  indices.forEach((index, i) => {
    const sequence = sequences[index]!;
    if (sequence.inputTokens.length !== sequence.targetTokens.length) {
      throw new ShapeError(
        `sequence ${index}: inputTokens has ${sequence.inputTokens.length} tokens ` +
          `but targetTokens has ${sequence.targetTokens.length}; they must match`,
      );
    }
    if (sequence.inputTokens.length === 0)
      throw new ShapeError(`sequence ${index} is empty; expected at least one token`);
    offsets[i + 1] = offsets[i]! + sequence.inputTokens.length;
  });
  const N = offsets[indices.length]!;
  const inputIds = new Int32Array(N);
  const targets = new Int32Array(N);
  indices.forEach((index, i) => {
    const sequence = sequences[index]!;
    const start = offsets[i]!;
    for (let t = 0; t < sequence.inputTokens.length; t++) {
      const input = sequence.inputTokens[t]!;
      const target = sequence.targetTokens[t]!;
      if (
        !Number.isInteger(input) ||
        input < 0 ||
        input >= vocabSize ||
        !Number.isInteger(target) ||
        target < 0 ||
        target >= vocabSize
      ) {
        throw new ShapeError(
          `sequence ${index}, position ${t}: token ids ${input} -> ${target} must be integers in [0, ${vocabSize})`,
        );
      }
      inputIds[start + t] = input;
      targets[start + t] = target;
    }
  });
  return { indices, offsets, N, inputIds, targets };
}
