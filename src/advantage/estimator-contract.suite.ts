/**
 * The contract every AdvantageEstimator must meet, as a vitest suite that each estimator's test
 * file runs (hono-router style): zero advantage on a constant-reward group, zero on non-trainable
 * tokens, invariance to the order of the group, finite output for G = 1 and G = 2, consistency
 * with its own `constantSpans`, and the worked vector of PAPER.md section 3 to 1e-4. Test-only
 * (imports vitest); not part of the runtime API.
 */
import { describe, expect, it } from 'vitest';
import type { GroupAdvantages, TrajectoryGroup } from '../types.js';
import { checkCreditInvariants } from './credit-invariants.js';
import type { AdvantageEstimator } from './estimator.js';
import { syntheticGroup, type SyntheticTrajectorySpec } from './synthetic-trajectory.js';
import { workedVectorGroup } from './worked-vector.js';

/** What an estimator's test file tells the contract suite. */
export interface EstimatorContract {
  create: () => AdvantageEstimator;
  /** Expected [turn 0, turn 1] advantage of each worked-vector row, every rollout with a tool result (G x 2). */
  workedVector_G_2: readonly (readonly [number, number])[];
  /** Expected [turn 0, turn 1] advantage of row 2 when its first turn got no tool result. */
  workedRow2WithoutResult: readonly [number, number];
}

/** A group with varied shapes and rewards: one turn only, three tool steps, failed and missing results. */
export function variedGroup(): TrajectoryGroup {
  const specs: SyntheticTrajectorySpec[] = [
    { turns: [{ sampledLength: 3, reply: 'result', reward: 0.7 }, { sampledLength: 5 }], outcomeReward: 1.9 },
    { turns: [{ sampledLength: 6 }], outcomeReward: 0.04 },
    {
      turns: [{ reply: 'invalid' }, { sampledLength: 2, reply: 'result', reward: 0.5 }, { sampledLength: 4 }],
      outcomeReward: 0.9,
    },
    {
      turns: [{ reply: 'error-result', reward: 0.0 }, { reply: 'result', reward: 0.2 }, { sampledLength: 7 }],
      outcomeReward: 0.4,
      promptLength: 6,
    },
    { turns: [{ sampledLength: 8, reply: 'result', reward: 0.2 }, { sampledLength: 1 }], outcomeReward: 1.2 },
  ];
  return syntheticGroup(specs, 'varied');
}

function turnValues(group: TrajectoryGroup, advantages: GroupAdvantages, i: number, k: number): number[] {
  const trajectory = group.trajectories[i]!;
  const span = trajectory.turns[k]!.sampled;
  const values: number[] = [];
  for (let t = span.start; t < span.end; t++) if (trajectory.trainable[t]) values.push(advantages[i]![t]!);
  return values;
}

function expectClose(actual: number[], expected: number, tolerance: number, label: string): void {
  expect(actual.length, `${label}: trainable tokens`).toBeGreaterThan(0);
  for (const value of actual) {
    expect(Math.abs(value - expected), `${label}: got ${value}, expected ${expected}`).toBeLessThan(tolerance);
  }
}

/** Runs the estimator contract for one estimator inside a `describe` block. */
export function runEstimatorContract(name: string, contract: EstimatorContract): void {
  describe(`${name} meets the estimator contract`, () => {
    it('gives exactly zero advantage to every token of a constant-reward group', () => {
      const group = variedGroup();
      for (const trajectory of group.trajectories) {
        trajectory.turnRewards = trajectory.turnRewards.map((_, k) => (k === 0 ? 0.1 : 0));
        trajectory.outcomeReward = 0.3;
      }
      for (const row of contract.create().estimate(group)) for (const value of row) expect(value).toBe(0);
    });

    it('returns one row per rollout of its token length, exactly zero on non-trainable tokens', () => {
      const group = variedGroup();
      const advantages = contract.create().estimate(group);
      expect(advantages).toHaveLength(group.trajectories.length);
      let nonzero = 0;
      group.trajectories.forEach((trajectory, i) => {
        expect(advantages[i]).toHaveLength(trajectory.tokens.length);
        trajectory.trainable.forEach((mask, t) => {
          if (mask === 0) expect(advantages[i]![t]).toBe(0);
          else if (advantages[i]![t] !== 0) nonzero++;
        });
      });
      expect(nonzero).toBeGreaterThan(0);
    });

    it('permutes its output when the group is permuted', () => {
      const group = variedGroup();
      const advantages = contract.create().estimate(group);
      for (const permutation of [
        [4, 3, 2, 1, 0],
        [2, 0, 4, 1, 3],
      ]) {
        const permuted: TrajectoryGroup = { ...group, trajectories: permutation.map((j) => group.trajectories[j]!) };
        const permutedAdvantages = contract.create().estimate(permuted);
        permutation.forEach((j, i) => {
          expect(permutedAdvantages[i]).toHaveLength(advantages[j]!.length);
          permutedAdvantages[i]!.forEach((value, t) => expect(value).toBeCloseTo(advantages[j]![t]!, 12));
        });
      }
    });

    it('gives finite advantages for groups of one and two rollouts', () => {
      const group = variedGroup();
      for (const size of [1, 2]) {
        const small: TrajectoryGroup = { ...group, trajectories: group.trajectories.slice(0, size) };
        const advantages = contract.create().estimate(small);
        expect(advantages).toHaveLength(size);
        for (const row of advantages) for (const value of row) expect(Number.isFinite(value)).toBe(true);
      }
    });

    it('does not modify the group it estimates', () => {
      const group = variedGroup();
      const before = JSON.stringify(group);
      contract.create().estimate(group);
      expect(JSON.stringify(group)).toBe(before);
    });

    it('keeps its advantages constant inside its own constant spans (no credit invariant errors)', () => {
      for (const group of [variedGroup(), workedVectorGroup(), workedVectorGroup({ row2WithoutResult: true })]) {
        const estimator = contract.create();
        const issues = checkCreditInvariants(group, estimator.estimate(group), { estimator });
        expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);
      }
    });

    it('reproduces the worked vector of PAPER.md section 3 to 1e-4', () => {
      const group = workedVectorGroup();
      const advantages = contract.create().estimate(group);
      contract.workedVector_G_2.forEach(([turnOne, turnTwo], i) => {
        expectClose(turnValues(group, advantages, i, 0), turnOne, 1e-4, `row ${i} turn 1`);
        expectClose(turnValues(group, advantages, i, 1), turnTwo, 1e-4, `row ${i} turn 2`);
      });
    });

    it('reproduces the worked vector when row 2 never gets a tool result', () => {
      const group = workedVectorGroup({ row2WithoutResult: true });
      const advantages = contract.create().estimate(group);
      contract.workedVector_G_2.forEach(([turnOne, turnTwo], i) => {
        const [expectedOne, expectedTwo] = i === 2 ? contract.workedRow2WithoutResult : [turnOne, turnTwo];
        expectClose(turnValues(group, advantages, i, 0), expectedOne, 1e-4, `row ${i} turn 1`);
        expectClose(turnValues(group, advantages, i, 1), expectedTwo, 1e-4, `row ${i} turn 2`);
      });
    });
  });
}
