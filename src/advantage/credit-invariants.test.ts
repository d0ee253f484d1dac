import { describe, expect, it } from 'vitest';
import { checkCreditInvariants, hasCreditErrors, type CreditIssue } from './credit-invariants.js';
import { variedGroup } from './estimator-contract.suite.js';
import { createGrpoOr } from './grpo-or.js';
import { createMtGrpo } from './mt-grpo.js';
import { syntheticGroup } from './synthetic-trajectory.js';
import { workedVectorGroup } from './worked-vector.js';

const kinds = (issues: CreditIssue[]) => issues.map((issue) => `${issue.severity}:${issue.kind}`);

describe('checkCreditInvariants', () => {
  it('finds nothing wrong with paper-exact MT-GRPO advantages', () => {
    const group = variedGroup();
    const estimator = createMtGrpo();
    expect(checkCreditInvariants(group, estimator.estimate(group), { estimator })).toEqual([]);
  });

  it('flags the silent bug where turn 1 gets zero credit while turn 2 gets the outcome advantage', () => {
    const group = workedVectorGroup();
    const advantages = createMtGrpo().estimate(group);
    group.trajectories.forEach((trajectory, i) => {
      const span = trajectory.turns[0]!.sampled;
      for (let t = span.start; t < span.end; t++) advantages[i]![t] = 0;
    });
    const issues = checkCreditInvariants(group, advantages);
    expect(
      issues
        .filter((issue) => issue.kind === 'zero-credit' && issue.severity === 'error')
        .map((issue) => [issue.groupIndex, issue.turnIndex]),
    ).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
    expect(hasCreditErrors(issues)).toBe(true);
  });

  it('flags credit on an environment (tool output) token', () => {
    const group = workedVectorGroup();
    const advantages = createMtGrpo().estimate(group);
    const envStart = group.trajectories[1]!.turns[0]!.envSpan!.start;
    advantages[1]![envStart + 1] = 0.5;
    const issues = checkCreditInvariants(group, advantages);
    expect(kinds(issues)).toEqual(['error:non-trainable-credit']);
    expect(issues[0]).toMatchObject({ groupIndex: 1, tokenIndex: envStart + 1 });
  });

  it('flags credit on a prompt token', () => {
    const group = workedVectorGroup();
    const advantages = createMtGrpo().estimate(group);
    advantages[0]![0] = -1;
    expect(kinds(checkCreditInvariants(group, advantages))).toEqual(['error:non-trainable-credit']);
  });

  it('flags non-finite advantages', () => {
    const group = workedVectorGroup();
    const advantages = createMtGrpo().estimate(group);
    const span = group.trajectories[3]!.turns[1]!.sampled;
    for (let t = span.start; t < span.end; t++) advantages[3]![t] = Number.NaN;
    const issues = checkCreditInvariants(group, advantages);
    expect(kinds(issues)).toContain('error:non-finite');
    expect(issues.find((issue) => issue.kind === 'non-finite')).toMatchObject({
      groupIndex: 3,
      tokenIndex: span.start,
    });
  });

  it('flags an advantage that changes inside one turn', () => {
    const group = workedVectorGroup();
    const advantages = createMtGrpo().estimate(group);
    const span = group.trajectories[2]!.turns[1]!.sampled;
    advantages[2]![span.end - 1] = advantages[2]![span.end - 1]! + 0.01;
    expect(kinds(checkCreditInvariants(group, advantages))).toEqual(['error:non-constant-span']);
  });

  it("checks the estimator's own constant spans: GRPO-OR promises one value per rollout", () => {
    const group = workedVectorGroup();
    const mtAdvantages = createMtGrpo().estimate(group);
    expect(checkCreditInvariants(group, mtAdvantages)).toEqual([]);
    const issues = checkCreditInvariants(group, mtAdvantages, { estimator: createGrpoOr() });
    expect(kinds(issues)).toEqual(Array(4).fill('error:non-constant-span'));
    expect(issues[0]!.message).toMatch(/estimator grpo-or gives one value per span/);
  });

  it('flags rows that do not fit their trajectories', () => {
    const group = workedVectorGroup();
    const advantages = createMtGrpo().estimate(group);
    advantages[1]!.pop();
    expect(kinds(checkCreditInvariants(group, advantages))).toEqual(['error:shape']);
    expect(kinds(checkCreditInvariants(group, advantages.slice(0, 3)))[0]).toBe('error:shape');
  });

  it('flags a trainable token outside every sampled span (a mask bug that trains on tool output)', () => {
    const group = workedVectorGroup();
    const advantages = createMtGrpo().estimate(group);
    const envStart = group.trajectories[0]!.turns[0]!.envSpan!.start;
    group.trajectories[0]!.trainable[envStart] = 1;
    expect(kinds(checkCreditInvariants(group, advantages))).toContain('error:untracked-trainable');
  });

  it('calls an all-zero group an error when the outcome rewards vary', () => {
    const group = workedVectorGroup();
    const zeros = group.trajectories.map((trajectory) => trajectory.tokens.map(() => 0));
    expect(kinds(checkCreditInvariants(group, zeros))).toEqual(['error:all-zero-group']);
  });

  it('only warns about an all-zero group when just the turn rewards vary (GRPO-OR ignores them)', () => {
    const group = workedVectorGroup();
    for (const trajectory of group.trajectories) trajectory.outcomeReward = 1;
    const estimator = createGrpoOr();
    const issues = checkCreditInvariants(group, estimator.estimate(group), { estimator });
    expect(kinds(issues)).toEqual(['warning:all-zero-group']);
    expect(hasCreditErrors(issues)).toBe(false);
  });

  it('only warns about a rollout whose reward sits exactly at the group mean', () => {
    const group = syntheticGroup([0, 1, 0.5].map((outcomeReward) => ({ turns: [{}], outcomeReward })));
    const estimator = createGrpoOr();
    const issues = checkCreditInvariants(group, estimator.estimate(group), { estimator });
    expect(kinds(issues)).toEqual(['warning:zero-credit']);
    expect(issues[0]!.groupIndex).toBe(2);
  });

  it('accepts zero advantages for a constant-reward group', () => {
    const group = syntheticGroup(
      [1, 1, 1].map((outcomeReward) => ({ turns: [{ reply: 'result' }, {}], outcomeReward })),
    );
    expect(checkCreditInvariants(group, createMtGrpo().estimate(group))).toEqual([]);
  });

  it(
    'accepts MT-GRPO giving the answer turn zero credit when ' +
      'every outcome reward is equal but the tool turns differ',
    () => {
      // Seen on a real batch: all rollouts answered alike (R^O constant), their searches did not.
      const group = syntheticGroup(
        [0.2, 0.7, 0.2, 0.7].map((reward) => ({ turns: [{ reply: 'result', reward }, {}], outcomeReward: 0.4 })),
      );
      const estimator = createMtGrpo();
      const issues = checkCreditInvariants(group, estimator.estimate(group), { estimator });
      expect(issues).toEqual([]);
    },
  );

  it('still flags a zero answer turn when the outcome rewards differ', () => {
    const group = syntheticGroup(
      [0.2, 0.7, 0.2, 0.7].map((reward, i) => ({ turns: [{ reply: 'result', reward }, {}], outcomeReward: i })),
    );
    const advantages = createMtGrpo().estimate(group);
    const span = group.trajectories[0]!.turns[1]!.sampled;
    for (let t = span.start; t < span.end; t++) advantages[0]![t] = 0;
    const issues = checkCreditInvariants(group, advantages);
    expect(
      issues
        .filter((issue) => issue.severity === 'error')
        .map((issue) => [issue.kind, issue.groupIndex, issue.turnIndex]),
    ).toEqual([['zero-credit', 0, 1]]);
  });
});
