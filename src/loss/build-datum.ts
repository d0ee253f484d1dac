/**
 * Training datums from trajectories: a trajectory of T tokens and its per-token advantages become
 * one `Datum` (src/backends/backend.ts) of T-1 positions, where position t reads token t and
 * predicts token t+1. Weights, old logprobs and advantages are those of the target token, so every
 * per-token array shifts left by one; the prompt and environment tokens get weight 0 (they stay in
 * the inputs, visible to attention, PAPER.md section 4).
 */
import type { Datum } from '../training-types.js';
import { DataError, ShapeError } from '../errors.js';
import type { GroupAdvantages, Trajectory, TrajectoryGroup } from '../types.js';

/** Options of `buildDatum`. */
export interface BuildDatumOptions {
  /** Reference-policy logprob of every token (T), for the KL term; shifted like the others. */
  refLogprobs_T?: readonly number[];
  /** Names the trajectory in error messages (default `trajectory <rowId>/<groupIndex>`). */
  label?: string;
}

/** Builds the datum of one trajectory from its per-token advantages (T). */
export function buildDatum(
  trajectory: Trajectory,
  advantages_T: readonly number[],
  options: BuildDatumOptions = {},
): Datum {
  const label = options.label ?? `trajectory ${trajectory.rowId}/${trajectory.groupIndex}`;
  const T = trajectory.tokens.length;
  if (T < 2) throw new ShapeError(`${label}: ${T} tokens; a datum needs at least 2 (an input and a target)`);
  for (const [name, array] of [
    ['trainable', trajectory.trainable],
    ['logprobs', trajectory.logprobs],
    ['advantages', advantages_T],
    ...(options.refLogprobs_T ? [['refLogprobs', options.refLogprobs_T] as const] : []),
  ] as const) {
    if (array.length !== T)
      throw new ShapeError(`${label}: ${name} has ${array.length} entries for ${T} tokens; expected one per token`);
  }
  if (trajectory.trainable[0] !== 0) {
    throw new DataError(
      `${label}: token 0 is trainable, but the first token has no ` +
        `input to predict it from; expected the prompt to come first`,
    );
  }
  const inputTokens = trajectory.tokens.slice(0, T - 1);
  const targetTokens = trajectory.tokens.slice(1);
  const weights = new Array<number>(T - 1);
  const oldLogprobs = new Array<number>(T - 1);
  const advantages = new Array<number>(T - 1);
  for (let t = 1; t < T; t++) {
    const isTrainable = trajectory.trainable[t] !== 0;
    const advantage = advantages_T[t]!;
    const logprob = trajectory.logprobs[t]!;
    if (!isTrainable && advantage !== 0) {
      throw new DataError(
        `${label}: token ${t} is not trainable but has advantage ${advantage}; expected 0 (see checkCreditInvariants)`,
      );
    }
    if (isTrainable && !(Number.isFinite(advantage) && Number.isFinite(logprob))) {
      throw new DataError(
        `${label}: token ${t} has advantage ${advantage} and logprob ${logprob}; expected finite numbers`,
      );
    }
    weights[t - 1] = isTrainable ? 1 : 0;
    oldLogprobs[t - 1] = isTrainable ? logprob : 0;
    advantages[t - 1] = isTrainable ? advantage : 0;
  }
  const datum: Datum = { inputTokens, targetTokens, weights, oldLogprobs, advantages };
  if (options.refLogprobs_T) datum.refLogprobs = options.refLogprobs_T.slice(1);
  return datum;
}

/**
 * The datums of one trajectory: one per model sequence (`sequenceStarts`; a single datum when the
 * trajectory is one sequence), each holding its own tokens only, so a sequence never attends to
 * the tokens of another.
 */
export function buildDatums(
  trajectory: Trajectory,
  advantages_T: readonly number[],
  options: BuildDatumOptions = {},
): Datum[] {
  const starts = trajectory.sequenceStarts ?? [];
  if (starts.length === 0) return [buildDatum(trajectory, advantages_T, options)];
  const label = options.label ?? `trajectory ${trajectory.rowId}/${trajectory.groupIndex}`;
  const T = trajectory.tokens.length;
  if (advantages_T.length !== T)
    throw new ShapeError(
      `${label}: advantages has ${advantages_T.length} entries for ${T} tokens; expected one per token`,
    );
  const bounds = [0, ...starts, T];
  for (let i = 1; i < bounds.length; i++) {
    if (!(Number.isInteger(bounds[i]) && bounds[i]! > bounds[i - 1]!))
      throw new ShapeError(
        `${label}: sequenceStarts ${JSON.stringify(starts)} must increase strictly inside (0, ${T})`,
      );
  }
  return bounds.slice(1).map((end, s) => {
    const start = bounds[s]!;
    const piece = {
      ...trajectory,
      tokens: trajectory.tokens.slice(start, end),
      trainable: trajectory.trainable.slice(start, end),
      logprobs: trajectory.logprobs.slice(start, end),
      sequenceStarts: undefined,
    };
    return buildDatum(piece, advantages_T.slice(start, end), {
      label: `${label}, sequence ${s}`,
      ...(options.refLogprobs_T ? { refLogprobs_T: options.refLogprobs_T.slice(start, end) } : {}),
    });
  });
}

/** Builds the datums of every trajectory of a group, in group order, from the group's advantages (G x T). */
export function buildGroupDatums(group: TrajectoryGroup, advantages_G_T: GroupAdvantages): Datum[] {
  if (advantages_G_T.length !== group.trajectories.length) {
    throw new ShapeError(
      `group ${group.rowId}: ${advantages_G_T.length} advantage rows for ${group.trajectories.length} rollouts`,
    );
  }
  return group.trajectories.flatMap((trajectory, i) =>
    buildDatums(trajectory, advantages_G_T[i]!, { label: `group ${group.rowId}, rollout ${i}` }),
  );
}
