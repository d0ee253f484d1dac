import { describe, expect, it } from 'vitest';
import { createMtGrpo } from '../advantage/mt-grpo.js';
import { syntheticTrajectory } from '../advantage/synthetic-trajectory.js';
import { WORKED_EXPECTED, workedVectorGroup } from '../advantage/worked-vector.js';
import { DataError, ShapeError } from '../errors.js';
import { buildDatum, buildGroupDatums } from './build-datum.js';
import { policyLoss } from './policy-loss.js';

describe('buildDatum', () => {
  it('shifts targets, weights, old logprobs and advantages by one token', () => {
    // prompt 2 tokens, turn 0 sampled 2, env reply 1, turn 1 sampled 1: T = 6
    const trajectory = syntheticTrajectory({
      promptLength: 2,
      turns: [{ sampledLength: 2, reply: 'result', replyLength: 1 }, { sampledLength: 1 }],
      outcomeReward: 1,
    });
    trajectory.logprobs = [0, 0, -0.1, -0.2, 0, -0.3];
    const advantages_T = [0, 0, 2, 2, 0, 1];
    const datum = buildDatum(trajectory, advantages_T);
    expect(datum.inputTokens).toEqual(trajectory.tokens.slice(0, 5));
    expect(datum.targetTokens).toEqual(trajectory.tokens.slice(1));
    expect(datum.weights).toEqual([0, 1, 1, 0, 1]);
    expect(datum.oldLogprobs).toEqual([0, -0.1, -0.2, 0, -0.3]);
    expect(datum.advantages).toEqual([0, 2, 2, 0, 1]);
    expect(datum.refLogprobs).toBeUndefined();
  });

  it('shifts reference logprobs the same way', () => {
    const trajectory = syntheticTrajectory({ promptLength: 1, turns: [{ sampledLength: 2 }], outcomeReward: 0 });
    const datum = buildDatum(trajectory, [0, 1, 1], { refLogprobs_T: [-9, -1, -2] });
    expect(datum.refLogprobs).toEqual([-1, -2]);
  });

  it('rejects advantage on a token that is not trained', () => {
    const trajectory = syntheticTrajectory({ promptLength: 2, turns: [{ sampledLength: 2 }], outcomeReward: 0 });
    expect(() => buildDatum(trajectory, [0, 0.5, 1, 1])).toThrow(DataError);
    expect(() => buildDatum(trajectory, [0, 0.5, 1, 1])).toThrow(/token 1 is not trainable but has advantage 0.5/);
  });

  it('rejects a trainable first token, wrong lengths and non-finite values', () => {
    const trajectory = syntheticTrajectory({ promptLength: 1, turns: [{ sampledLength: 2 }], outcomeReward: 0 });
    expect(() => buildDatum(trajectory, [0, 1])).toThrow(ShapeError);
    expect(() => buildDatum(trajectory, [0, Number.NaN, 1])).toThrow(/expected finite numbers/);
    expect(() => buildDatum({ ...trajectory, trainable: [1, 1, 1] }, [1, 1, 1])).toThrow(/token 0 is trainable/);
    expect(() => buildDatum({ ...trajectory, tokens: [5], trainable: [0], logprobs: [0] }, [0])).toThrow(/at least 2/);
  });

  it('builds one datum per rollout whose on-policy loss is minus the token-mean advantage', () => {
    const group = workedVectorGroup();
    const advantages_G_T = createMtGrpo().estimate(group);
    const data = buildGroupDatums(group, advantages_G_T);
    expect(data).toHaveLength(4);
    let total = 0;
    let count = 0;
    group.trajectories.forEach((trajectory) =>
      trajectory.turns.forEach((turn, k) => {
        const length = turn.sampled.end - turn.sampled.start;
        const value =
          k === 0
            ? WORKED_EXPECTED.mtTurnOne_G[trajectory.groupIndex]!
            : WORKED_EXPECTED.mtTurnTwo_G[trajectory.groupIndex]!;
        total += length * value;
        count += length;
      }),
    );
    const result = policyLoss({
      data,
      logprobs_B_T: data.map((datum) => [...datum.oldLogprobs!]),
      loss: { kind: 'ppo', clipLow: 0.2, clipHigh: 0.2, klBeta: 0, normalization: 'token-mean' },
    });
    expect(result.metrics['loss/tokens']).toBe(count);
    expect(result.loss).toBeCloseTo(-total / count, 3);
  });

  it('rejects a row count that does not match the group', () => {
    const group = workedVectorGroup();
    expect(() => buildGroupDatums(group, createMtGrpo().estimate(group).slice(1))).toThrow(
      /3 advantage rows for 4 rollouts/,
    );
  });
});
