/**
 * Where the turns of a trajectory sit in its token array, as the estimators need it: the
 * completion span, the paper's "turn 1" boundary (the first environment message that is a tool
 * result), the tool steps of the K-turn estimator, and the per-token row builder that writes 0 on
 * every non-trainable token.
 */
import { DataError, ShapeError } from '../errors.js';
import type { TokenSpan, Trajectory } from '../types.js';

/** Checks that the per-token arrays and turn spans of a trajectory fit its tokens; throws otherwise. */
export function checkTrajectoryLayout(trajectory: Trajectory, where: string): void {
  const T = trajectory.tokens.length;
  if (trajectory.trainable.length !== T || trajectory.logprobs.length !== T) {
    throw new ShapeError(
      `${where}: tokens has ${T} entries but trainable has ${trajectory.trainable.length} and logprobs ` +
        `${trajectory.logprobs.length}; expected one per token`,
    );
  }
  for (const turn of trajectory.turns) {
    for (const span of [turn.sampled, turn.envSpan]) {
      if (span && (span.start < 0 || span.end > T || span.start > span.end)) {
        throw new ShapeError(`${where}: turn ${turn.index} has span [${span.start}, ${span.end}) outside [0, ${T})`);
      }
    }
  }
  trajectory.turnRewards.forEach((reward, k) => {
    if (k >= trajectory.turns.length && reward !== 0) {
      throw new DataError(
        `${where}: turnRewards[${k}] = ${reward} but the trajectory has only ${trajectory.turns.length} turns; ` +
          `expected one turn reward per turn`,
      );
    }
  });
}

/** The completion: every token after the prompt. */
export function completionSpan(trajectory: Trajectory): TokenSpan {
  return { start: trajectory.promptLength, end: trajectory.tokens.length };
}

/**
 * First token of the first environment message that is a tool result (the paper's `<result>`),
 * or undefined when no turn got one. Model tokens before it form the paper's "turn 1".
 */
export function firstToolResultStart(trajectory: Trajectory): number | undefined {
  const turn = trajectory.turns.find((candidate) => candidate.isToolResult);
  if (!turn) return undefined;
  return turn.envSpan?.start ?? turn.sampled.end;
}

/** One tool step: the assistant turns up to and including the one answered by a tool result. */
export interface ToolStep {
  /** Tokens of the step, environment replies included (the last step runs to the end). */
  span: TokenSpan;
  /** Indices of the assistant turns in the step. */
  turnIndices: number[];
  /** Sum of those turns' turn rewards. */
  reward: number;
}

/**
 * Splits a trajectory into tool steps: step k ends where the k-th tool result begins, and the
 * final step is everything after the last tool result (possibly empty of model tokens). A
 * trajectory with r tool results has r + 1 steps. Malformed turns answered by an error message
 * without a result stay in the step of the next tool result, as in the paper's "turn 1".
 */
export function toolSteps(trajectory: Trajectory): ToolStep[] {
  const steps: ToolStep[] = [];
  let current: ToolStep = {
    span: { start: trajectory.promptLength, end: trajectory.tokens.length },
    turnIndices: [],
    reward: 0,
  };
  trajectory.turns.forEach((turn, k) => {
    current.turnIndices.push(k);
    current.reward += trajectory.turnRewards[k] ?? 0;
    if (turn.isToolResult) {
      const boundary = turn.envSpan?.start ?? turn.sampled.end;
      current.span = { start: current.span.start, end: boundary };
      steps.push(current);
      current = { span: { start: boundary, end: trajectory.tokens.length }, turnIndices: [], reward: 0 };
    }
  });
  steps.push(current);
  return steps;
}

/** A row of T advantages: `valueAt(t)` on trainable tokens, exactly 0 elsewhere. */
export function advantageRow(trajectory: Trajectory, valueAt: (t: number) => number): number[] {
  const row_T = new Array<number>(trajectory.tokens.length);
  for (let t = 0; t < row_T.length; t++) row_T[t] = trajectory.trainable[t] !== 0 ? valueAt(t) : 0;
  return row_T;
}
