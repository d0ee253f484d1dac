import { describe, expect, it } from 'vitest';
import { checkCreditInvariants } from '../advantage/credit-invariants.js';
import { createMtGrpo } from '../advantage/mt-grpo.js';
import { buildDatums, buildGroupDatums } from '../loss/build-datum.js';
import type { Message } from '../types.js';
import { trajectoryFromCalls, type RecordedCall } from './trajectory-from-calls.js';

const system: Message = { role: 'system', content: 'use tools' };
const user: Message = { role: 'user', content: 'q?' };
const call = (
  messages: Message[],
  promptTokens: number[],
  completionTokens: number[],
  response: string,
  toolCalls: RecordedCall['toolCalls'] = [],
): RecordedCall => ({
  messages,
  promptTokens,
  completionTokens,
  completionLogprobs: completionTokens.map((_, i) => -0.1 * (i + 1)),
  response: { role: 'assistant', content: response },
  toolCalls,
  finishReason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
});

// Turn 0 asks two tools at once, both answer (one with an error), turn 1 answers.
const first = call([system, user], [1, 2, 3], [10, 11, 12], 'search', [
  { name: 'a', arguments: {} },
  { name: 'b', arguments: {} },
]);
const toolReplies: Message[] = [
  { role: 'tool', content: 'result a' },
  { role: 'tool', content: 'Error: b failed' },
];
const extended = call(
  [system, user, first.response, ...toolReplies],
  [1, 2, 3, 10, 11, 12, 20, 21],
  [30, 31],
  'answer',
);

describe('a gateway rollout as a trajectory', () => {
  it('appends only the new prompt tokens when each prompt extends the tokens so far', () => {
    const trajectory = trajectoryFromCalls([first, extended], { rowId: 'r', groupIndex: 0 });
    expect(trajectory.tokens).toEqual([1, 2, 3, 10, 11, 12, 20, 21, 30, 31]);
    expect(trajectory.trainable).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 1, 1]);
    expect(trajectory.logprobs.slice(3, 6)).toEqual([-0.1, -0.2, -0.30000000000000004]);
    expect(trajectory.promptLength).toBe(3);
    expect(trajectory.sequenceStarts).toBeUndefined();
    expect(trajectory.turns).toHaveLength(2);
    const [tool, answer] = trajectory.turns;
    // Two tool calls in one assistant message are one turn, answered by both tool messages.
    expect(tool).toMatchObject({
      sampled: { start: 3, end: 6 },
      envSpan: { start: 6, end: 8 },
      isToolResult: true,
      toolFailed: true,
    });
    expect(tool!.toolCalls.map((c) => c.name)).toEqual(['a', 'b']);
    expect(tool!.env).toEqual({ role: 'tool', content: 'result a\nError: b failed' });
    expect(answer).toMatchObject({ sampled: { start: 8, end: 10 }, isToolResult: false });
    expect(trajectory.messages.at(-1)).toEqual({ role: 'assistant', content: 'answer' });
    expect(
      buildDatums(
        trajectory,
        trajectory.trainable.map(() => 0),
      ),
    ).toHaveLength(1);
  });

  it('splits a rewritten history into its own sequence instead of re-tokenising it', () => {
    // The agent summarised its history: the second prompt does not start with the first sequence.
    const rewritten = call([system, { role: 'user', content: 'q? (summary: a found)' }], [1, 2, 4, 5], [40], 'answer');
    const trajectory = trajectoryFromCalls([first, rewritten], { rowId: 'r', groupIndex: 1 });
    expect(trajectory.tokens).toEqual([1, 2, 3, 10, 11, 12, 1, 2, 4, 5, 40]);
    expect(trajectory.sequenceStarts).toEqual([6]);
    expect(trajectory.turns[0]!.envSpan).toEqual({ start: 6, end: 10 });
    const advantages_T = trajectory.trainable.map((mask, t) => (mask ? t / 10 : 0));
    const datums = buildDatums(trajectory, advantages_T);
    expect(datums.map((datum) => [datum.inputTokens, datum.targetTokens])).toEqual([
      [
        [1, 2, 3, 10, 11],
        [2, 3, 10, 11, 12],
      ],
      [
        [1, 2, 4, 5],
        [2, 4, 5, 40],
      ],
    ]);
    expect(datums[1]!.weights).toEqual([0, 0, 0, 1]);
    expect(datums[1]!.advantages).toEqual([0, 0, 0, 1]);
    expect(datums[1]!.oldLogprobs).toEqual([0, 0, 0, -0.1]);
  });

  it('trains with MT-GRPO: a multi-call turn is credited as one turn, a split rollout as two datums', () => {
    const trajectories = [
      trajectoryFromCalls([first, extended], { rowId: 'r', groupIndex: 0 }),
      trajectoryFromCalls([first, call([system, user], [7, 8], [41], 'answer')], { rowId: 'r', groupIndex: 1 }),
      trajectoryFromCalls([call([system, user], [1, 2, 3], [50], 'no tool')], { rowId: 'r', groupIndex: 2 }),
    ];
    trajectories.forEach((trajectory, i) => {
      trajectory.turnRewards = trajectory.turns.map((_, k) => (k === 0 && trajectory.turns[0]!.isToolResult ? 0.2 : 0));
      trajectory.outcomeReward = i === 0 ? 1 : 0;
    });
    const group = { rowId: 'r', row: {}, trajectories };
    const estimator = createMtGrpo();
    const advantages = estimator.estimate(group);
    expect(
      checkCreditInvariants(group, advantages, { estimator }).filter((issue) => issue.severity === 'error'),
    ).toEqual([]);
    // Every token of the multi-call turn gets one advantage.
    expect(new Set(advantages[0]!.slice(3, 6)).size).toBe(1);
    expect(buildGroupDatums(group, advantages)).toHaveLength(4);
  });

  it('refuses a rollout without calls, or a call whose logprobs do not match its tokens', () => {
    expect(() => trajectoryFromCalls([], { rowId: 'r', groupIndex: 3 })).toThrow(
      /rollout r\/3 made no call to the gateway/,
    );
    expect(() => trajectoryFromCalls([{ ...first, completionLogprobs: [-1] }], { rowId: 'r', groupIndex: 0 })).toThrow(
      /3 completion tokens but 1 logprobs/,
    );
  });
});
