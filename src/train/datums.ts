/**
 * Training datums from scored trajectories: for a trajectory of T tokens, inputs are tokens 0..T-2,
 * targets tokens 1..T-1, and the mask, sampling-time logprobs and advantages are shifted with the
 * targets (so position t trains token t+1). Environment and prompt tokens have weight 0 but stay in
 * the inputs, visible to attention (PAPER.md section 4).
 */
import type { Datum } from '../backends/backend.js';
import { ShapeError } from '../errors.js';
import type { GroupAdvantages, TrajectoryGroup } from '../types.js';

/** One datum per trajectory with at least one trained token, in group then rollout order. */
export function buildDatums(groups: TrajectoryGroup[], advantages_P: GroupAdvantages[]): Datum[] {
  const datums: Datum[] = [];
  groups.forEach((group, p) => {
    group.trajectories.forEach((trajectory, g) => {
      const advantages_T = advantages_P[p]?.[g];
      const T = trajectory.tokens.length;
      if (advantages_T === undefined || advantages_T.length !== T || trajectory.trainable.length !== T || trajectory.logprobs.length !== T) {
        throw new ShapeError(`buildDatums: rollout ${trajectory.rowId}#${g} has ${T} tokens, ${trajectory.trainable.length} mask entries, ${trajectory.logprobs.length} logprobs and ${advantages_T?.length} advantages; all must be equal`);
      }
      if (T < 2 || !trajectory.trainable.some((mask) => mask === 1)) return;
      datums.push({
        inputTokens: trajectory.tokens.slice(0, T - 1),
        targetTokens: trajectory.tokens.slice(1),
        weights: trajectory.trainable.slice(1),
        oldLogprobs: trajectory.logprobs.slice(1),
        advantages: advantages_T.slice(1),
      });
    });
  });
  return datums;
}
