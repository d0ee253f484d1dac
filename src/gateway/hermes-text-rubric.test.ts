import { describe, expect, it } from 'vitest';
import { HermesFormat } from '../env/hermes-format.js';
import { Rubric } from '../rewards/rubric.js';
import { toolExecutionReward } from '../rewards/tool-rewards.js';
import { exactMatchReward } from '../rewards/answer-rewards.js';
import { trajectoryFromCalls, type RecordedCall } from './trajectory-from-calls.js';
import { hermesTextRubric } from './hermes-text-rubric.js';

const format = new HermesFormat();
const rubric = new Rubric<{ answer: string }>([
  toolExecutionReward({ format }),
  exactMatchReward({ answers: (row) => [row.answer], format }),
]);
const system = { role: 'system' as const, content: 'S' };
const user = { role: 'user' as const, content: 'Q' };
const call = { id: 'c1', name: 'wiki_search', arguments: { query: 'q' } };
const calls: RecordedCall[] = [
  {
    messages: [system, user],
    promptTokens: [1, 2],
    completionTokens: [3],
    completionLogprobs: [-1],
    response: { role: 'assistant', content: '<reasoning>r</reasoning>', toolCalls: [call] },
    toolCalls: [call],
    finishReason: 'tool_calls',
  },
  {
    messages: [
      system,
      user,
      { role: 'assistant', content: '<reasoning>r</reasoning>', toolCalls: [call] },
      { role: 'tool', content: 'Paris is the capital', toolCallId: 'c1' },
    ],
    promptTokens: [1, 2, 3, 4],
    completionTokens: [5],
    completionLogprobs: [-1],
    response: { role: 'assistant', content: '<answer>Paris</answer>' },
    toolCalls: [],
    finishReason: 'stop',
  },
];

describe('hermesTextRubric', () => {
  it("scores a gateway trajectory's structured calls and tool messages as the Hermes text the model saw", async () => {
    const plain = await rubric.score(trajectoryFromCalls(calls, { rowId: 'r', groupIndex: 0 }), { answer: 'Paris' });
    // The plain rubric finds no <tool_call> in the structured message.
    expect(plain.rewardComponents.tool_execution).toBe(0);
    const trajectory = trajectoryFromCalls(calls, { rowId: 'r', groupIndex: 0 });
    const messages = structuredClone(trajectory.messages);
    const turns = structuredClone(trajectory.turns);
    await hermesTextRubric(rubric).score(trajectory, { answer: 'Paris' });
    expect(trajectory.rewardComponents.tool_execution).toBe(0.2);
    expect(trajectory.rewardComponents.exact_match).toBe(1);
    expect(trajectory.turnRewards).toEqual([0.2, 0]);
    expect(trajectory.outcomeReward).toBe(1);
    // The trajectory keeps the messages and turns as the agent sent them.
    expect(trajectory.messages).toEqual(messages);
    expect(trajectory.turns).toEqual(turns);
  });
});
