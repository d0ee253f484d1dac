import { describe, expect, it } from 'vitest';
import { syntheticTrajectory } from './synthetic-trajectory.js';
import { firstToolResultStart, toolSteps } from './token-layout.js';

describe('toolSteps', () => {
  it('ends each step where a tool result begins and sums the turn rewards inside it', () => {
    // prompt 2 | t0 sampled 3 | format error 2 | t1 sampled 2 | result 4 | t2 sampled 1 | result 2 | t3 sampled 3
    const trajectory = syntheticTrajectory({
      promptLength: 2,
      turns: [
        { sampledLength: 3, reply: 'invalid', replyLength: 2, reward: 0.1 },
        { sampledLength: 2, reply: 'result', replyLength: 4, reward: 0.2 },
        { sampledLength: 1, reply: 'error-result', replyLength: 2, reward: 0.4 },
        { sampledLength: 3 },
      ],
      outcomeReward: 1,
    });
    expect(toolSteps(trajectory)).toEqual([
      { span: { start: 2, end: 9 }, turnIndices: [0, 1], reward: 0.1 + 0.2 },
      { span: { start: 9, end: 14 }, turnIndices: [2], reward: 0.4 },
      { span: { start: 14, end: 19 }, turnIndices: [3], reward: 0 },
    ]);
    expect(firstToolResultStart(trajectory)).toBe(9);
  });

  it('gives one step and no turn-1 boundary when no tool result came back', () => {
    const trajectory = syntheticTrajectory({ turns: [{ reply: 'invalid' }, {}], outcomeReward: 0 });
    expect(toolSteps(trajectory)).toHaveLength(1);
    expect(firstToolResultStart(trajectory)).toBeUndefined();
  });
});
