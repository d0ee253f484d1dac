/**
 * Packing of variable-length training sequences into right-padded micro-batches (B,T) whose
 * padded token count stays within a budget. Sequences are grouped by length (longest first) so
 * padding is small; padding positions get input and target id 0 and must carry weight 0.
 */
import { ShapeError } from '../errors.js';

/** One training sequence: the fed tokens and the token each position predicts (same length). */
export interface TrainingSequence {
  inputTokens: ArrayLike<number>;
  targetTokens: ArrayLike<number>;
}

/** A right-padded batch of some of the sequences. */
export interface MicroBatch {
  /** Index into the sequence list of each row (B). */
  indices: number[];
  B: number;
  T: number;
  /** (B,T), padded with 0. */
  inputIds: Int32Array;
  /** (B,T), padded with 0. */
  targets: Int32Array;
}

/**
 * Groups sequence indices so that each group's B * max length is
 * at most `maxTokens` (a longer sequence gets its own group).
 */
export function planMicroBatches(lengths: number[], maxTokens: number): number[][] {
  if (!(maxTokens > 0)) throw new ShapeError(`planMicroBatches: maxTokens must be > 0, got ${maxTokens}`);
  const order = lengths.map((_, index) => index).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const groups: number[][] = [];
  let current: number[] = [];
  let currentT = 0;
  for (const index of order) {
    const T = Math.max(currentT, lengths[index]!);
    if (current.length > 0 && T * (current.length + 1) > maxTokens) {
      groups.push(current);
      current = [];
    }
    currentT = current.length === 0 ? lengths[index]! : Math.max(currentT, lengths[index]!);
    current.push(index);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** Packs the sequences at `indices` into one right-padded (B,T) batch; checks ids are in [0, vocabSize). */
export function packMicroBatch(sequences: TrainingSequence[], indices: number[], vocabSize: number): MicroBatch {
  let T = 0;
  for (const index of indices) {
    const sequence = sequences[index]!;
    if (sequence.inputTokens.length !== sequence.targetTokens.length) {
      throw new ShapeError(
        `sequence ${index}: inputTokens has ${sequence.inputTokens.length} tokens ` +
          `but targetTokens has ${sequence.targetTokens.length}; they must match`,
      );
    }
    if (sequence.inputTokens.length === 0)
      throw new ShapeError(`sequence ${index} is empty; expected at least one token`);
    T = Math.max(T, sequence.inputTokens.length);
  }
  const B = indices.length;
  const inputIds = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  indices.forEach((index, row) => {
    const sequence = sequences[index]!;
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
      inputIds[row * T + t] = input;
      targets[row * T + t] = target;
    }
  });
  return { indices, B, T, inputIds, targets };
}
