/**
 * A Trajectory built from hand-made messages (a placeholder system and user prompt, then the given
 * assistant messages and environment replies), with no tokens: for testing reward functions and
 * rubrics on exact messages without running a rollout.
 */
import { DataError } from '../errors.js';
import type { Message, Trajectory, Turn } from '../types.js';

/** A token-free trajectory whose turns are the given completion messages. */
export function trajectoryFromMessages(completion: Message[], rowId = 'row'): Trajectory {
  const turns: Turn[] = [];
  for (const message of completion) {
    if (message.role === 'assistant') {
      turns.push({
        index: turns.length,
        assistant: message,
        sampled: { start: 0, end: 0 },
        toolCalls: [],
        isToolResult: false,
        toolFailed: false,
        truncated: false,
      });
    } else {
      const last = turns[turns.length - 1];
      if (last === undefined || last.env !== undefined)
        throw new DataError('trajectoryFromMessages: an environment message must follow an assistant message');
      last.env = message;
    }
  }
  return {
    rowId,
    groupIndex: 0,
    messages: [{ role: 'system', content: 'system' }, { role: 'user', content: 'Question: q\n' }, ...completion],
    tokens: [],
    promptLength: 0,
    trainable: [],
    logprobs: [],
    turns,
    turnRewards: [],
    outcomeReward: 0,
    rewardComponents: {},
    stopReason: 'answered',
    errors: [],
  };
}

/** An assistant message. */
export const assistantMessage = (content: string): Message => ({ role: 'assistant', content });
/** An environment (user-role) message. */
export const userMessage = (content: string): Message => ({ role: 'user', content });
