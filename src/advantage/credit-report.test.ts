import { describe, expect, it } from 'vitest';
import { inspectCredit, renderCreditTable } from './credit-report.js';
import { createMtGrpo } from './mt-grpo.js';
import { syntheticGroup } from './synthetic-trajectory.js';
import { WORKED_EXPECTED, workedVectorGroup } from './worked-vector.js';

describe('inspectCredit', () => {
  it("lists every rollout's turns with their rewards and the advantage of their tokens", () => {
    const group = workedVectorGroup({ row2WithoutResult: true });
    const estimator = createMtGrpo();
    const credit = inspectCredit(group, estimator.estimate(group), { estimator });
    expect(credit.estimator).toBe('mt-grpo');
    expect(credit.issues).toEqual([]);
    expect(credit.rollouts).toHaveLength(4);
    const first = credit.rollouts[0]!;
    expect(first).toMatchObject({ groupIndex: 0, outcomeReward: 1.9, turnRewardTotal: 0.7, stopReason: 'answered' });
    expect(first.turns[0]).toMatchObject({
      turnIndex: 0,
      toolCalls: ['wiki_search'],
      reply: 'result',
      turnReward: 0.7,
    });
    expect(first.turns[0]!.credit.trainableTokens).toBe(4);
    expect(first.turns[0]!.credit.min).toBeCloseTo(WORKED_EXPECTED.mtTurnOne_G[0], 4);
    expect(first.turns[0]!.credit.max).toBe(first.turns[0]!.credit.min);
    expect(first.turns[1]).toMatchObject({ reply: 'none', toolCalls: [] });
    expect(first.turns[1]!.credit.mean).toBeCloseTo(WORKED_EXPECTED.mtTurnTwo_G[0], 4);
    expect(credit.rollouts[2]!.turns[0]!.reply).toBe('message');
    expect(credit.rollouts[2]!.turns[0]!.credit.mean).toBeCloseTo(WORKED_EXPECTED.merged_G[2], 4);
  });
});

describe('renderCreditTable', () => {
  it('renders one line per turn, the outcome on the last turn, and the invariant verdict', () => {
    const group = syntheticGroup(
      [
        { turns: [{ sampledLength: 2, reply: 'result', reward: 0.7 }, { sampledLength: 3 }], outcomeReward: 1 },
        { turns: [{ sampledLength: 2, reply: 'error-result', reward: 0 }, { sampledLength: 1 }], outcomeReward: 0 },
      ],
      'q1',
    );
    const estimator = createMtGrpo();
    const text = renderCreditTable(inspectCredit(group, estimator.estimate(group), { estimator }));
    expect(text).toBe(
      [
        'credit of group q1 (estimator mt-grpo, G = 2)',
        'rollout  turn  tokens  tool         reply          R^T_k     R^O  advantage  stop',
        '      0     0       2  wiki_search  result        0.7000          1.4140',
        '            1       3  -            -             0.0000  1.0000  0.7070     answered',
        '      1     0       2  wiki_search  error-result  0.0000          -1.4140',
        '            1       1  -            -             0.0000  0.0000  -0.7070    answered',
        'invariants: ok',
        '',
      ].join('\n'),
    );
  });

  it('shows a range for a turn whose advantages vary and lists the issues', () => {
    const group = syntheticGroup(
      [
        { turns: [{ sampledLength: 2 }], outcomeReward: 1 },
        { turns: [{ sampledLength: 2 }], outcomeReward: 0 },
      ],
      'q2',
    );
    const advantages = group.trajectories.map((trajectory) =>
      trajectory.tokens.map((_, t) => (trajectory.trainable[t] ? t / 10 : 0)),
    );
    const text = renderCreditTable(inspectCredit(group, advantages));
    expect(text).toContain('0.3000..0.4000 (mean 0.3500)');
    expect(text).toContain(
      'error: [non-constant-span] rollout 0: advantages in tokens [3, 5) range from 0.3000 to 0.4000',
    );
  });
});
