import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { TrajectoryGroup } from '../types.js';
import { runEstimatorContract, variedGroup } from './estimator-contract.suite.js';
import { createMtGrpo } from './mt-grpo.js';
import { createMtGrpoK } from './mt-grpo-k.js';
import { syntheticGroup } from './synthetic-trajectory.js';
import { WORKED_EXPECTED, workedVectorGroup } from './worked-vector.js';

const { mtTurnOne_G, mtTurnTwo_G, turn_G, outcome_G } = WORKED_EXPECTED;

runEstimatorContract('mt-grpo-k', {
  create: createMtGrpoK,
  workedVector_G_2: mtTurnOne_G.map((value, i) => [value, mtTurnTwo_G[i]!] as const),
  // deliberate deviation from the paper's fallback: a rollout without a result is a one-step
  // rollout and gets its reward-to-go norm(R^T)_2 + norm(R^O)_2 (its R^T is 0), not norm(R^T + R^O)_2
  workedRow2WithoutResult: [turn_G[2] + outcome_G[2], turn_G[2] + outcome_G[2]],
});

/** A random group in which every rollout takes exactly two turns: a tool call with a result, then an answer. */
function randomTwoTurnGroup(random: Random, G: number): TrajectoryGroup {
  const round = (value: number) => Math.round(value * 100) / 100; // discrete rewards, so ties happen
  return syntheticGroup(
    Array.from({ length: G }, () => ({
      promptLength: 1 + random.int(5),
      turns: [
        {
          sampledLength: 1 + random.int(6),
          reply: random.next() < 0.2 ? ('error-result' as const) : ('result' as const),
          replyLength: 1 + random.int(4),
          reward: round(random.next() * 0.7),
        },
        { sampledLength: 1 + random.int(6), reward: 0 },
      ],
      outcomeReward: round(random.next() * 1.9),
    })),
  );
}

function turnValue(group: TrajectoryGroup, advantages: number[][], i: number, k: number): number {
  return advantages[i]![group.trajectories[i]!.turns[k]!.sampled.start]!;
}

describe('mt-grpo-k', () => {
  it('equals paper-exact MT-GRPO on every token for two fixed turns (alpha = lambda = 1)', () => {
    const random = new Random(7);
    for (let trial = 0; trial < 200; trial++) {
      const group = randomTwoTurnGroup(random, 2 + random.int(20));
      const kTurn = createMtGrpoK().estimate(group);
      const paper = createMtGrpo({ lambda: 1 }).estimate(group);
      kTurn.forEach((row, i) => row.forEach((value, t) => expect(Math.abs(value - paper[i]![t]!)).toBeLessThan(1e-12)));
    }
  });

  it('puts alpha on the outcome term of earlier turns, as in the paper v2 formula', () => {
    const group = workedVectorGroup();
    const advantages = createMtGrpoK({ alpha: 0.5 }).estimate(group);
    for (let i = 0; i < 4; i++) {
      expect(turnValue(group, advantages, i, 0)).toBeCloseTo(turn_G[i]! + 0.5 * outcome_G[i]!, 3);
      expect(turnValue(group, advantages, i, 1)).toBeCloseTo(outcome_G[i]!, 3);
    }
  });

  it('counts a missing turn as zero reward normalised over the whole group', () => {
    // A: tool (0.2), tool (0.2), answer, R^O = 1; B: tool (0.2), answer, R^O = 0; C: tool (0), answer, R^O = 0
    const group = syntheticGroup([
      { turns: [{ reply: 'result', reward: 0.2 }, { reply: 'result', reward: 0.2 }, {}], outcomeReward: 1 },
      { turns: [{ reply: 'result', reward: 0.2 }, {}], outcomeReward: 0 },
      { turns: [{ reply: 'result', reward: 0 }, {}], outcomeReward: 0 },
    ]);
    const advantages = createMtGrpoK().estimate(group);
    // golden values: index 0 norm([0.2, 0.2, 0]) = [0.5769, 0.5769, -1.1537]; index 1 norm([0.2, 0, 0])
    // (B and C never reached step 1: 0) = [1.1537, -0.5769, -0.5769]; index 2 all 0; norm(R^O) =
    // norm([1, 0, 0]) = [1.1545, -0.5773, -0.5773]
    expect(turnValue(group, advantages, 0, 0)).toBeCloseTo(2.8851, 4);
    expect(turnValue(group, advantages, 0, 1)).toBeCloseTo(2.3082, 4);
    expect(turnValue(group, advantages, 0, 2)).toBeCloseTo(1.1545, 4);
    // B stopped after one tool step: its step 0 also carries the centred term of the step it
    // skipped (-0.5769); normalising only over survivors would have given it ~0 here
    expect(turnValue(group, advantages, 1, 0)).toBeCloseTo(-0.5773, 4);
    expect(turnValue(group, advantages, 1, 1)).toBeCloseTo(-1.1541, 4);
    expect(turnValue(group, advantages, 2, 0)).toBeCloseTo(-2.3078, 4);
    expect(turnValue(group, advantages, 2, 1)).toBeCloseTo(-1.1541, 4);
  });

  it('gives each step only its own turn term when alpha = 0', () => {
    const group = workedVectorGroup();
    const advantages = createMtGrpoK({ alpha: 0 }).estimate(group);
    for (let i = 0; i < 4; i++) {
      expect(turnValue(group, advantages, i, 0)).toBeCloseTo(turn_G[i]!, 3);
      expect(turnValue(group, advantages, i, 1)).toBeCloseTo(outcome_G[i]!, 3);
    }
  });

  it('splits a rollout with two tool results into three steps with a value each', () => {
    const group = variedGroup();
    const advantages = createMtGrpoK().estimate(group);
    const steps = createMtGrpoK().constantSpans(group.trajectories[3]!);
    expect(steps).toHaveLength(3);
    expect(turnValue(group, advantages, 3, 0)).not.toBe(turnValue(group, advantages, 3, 1));
  });
});
