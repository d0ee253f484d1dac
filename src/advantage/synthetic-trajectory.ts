/**
 * Well-formed trajectories built from turn lengths and rewards, without a model or an environment:
 * for testing estimators, losses and credit checks (and for users testing their own estimators).
 * Token ids are arbitrary; the layout (prompt, sampled spans with mask 1, environment replies with
 * mask 0) follows `src/types.ts`.
 */
import type { Message, StopReason, Trajectory, TrajectoryGroup, Turn } from '../types.js';

/** One assistant turn of a synthetic trajectory. */
export interface SyntheticTurn {
  /** Number of sampled (trainable) tokens (default 4). */
  sampledLength?: number;
  /**
   * The environment's reply: `result` (a tool result), `error-result` (a tool result whose text
   * starts with `Error:`), `invalid` (the paper's format-error message, not a tool result), or
   * absent for the final turn.
   */
  reply?: 'result' | 'error-result' | 'invalid';
  /** Number of reply tokens, template included (default 3). */
  replyLength?: number;
  /** This turn's turn-level reward (default 0). */
  reward?: number;
}

/** Everything a synthetic trajectory is built from. */
export interface SyntheticTrajectorySpec {
  turns: SyntheticTurn[];
  outcomeReward: number;
  rowId?: string;
  groupIndex?: number;
  /** Number of prompt tokens (default 3). */
  promptLength?: number;
  /** Sampling logprob written on every trainable token (default -0.5). */
  logprob?: number;
  stopReason?: StopReason;
}

const FORMAT_ERROR = 'Error: Tool command not found or invalid XML format. Please ensure correct formatting.';

/** Builds one trajectory whose token layout and turn spans match the spec. */
export function syntheticTrajectory(spec: SyntheticTrajectorySpec): Trajectory {
  const promptLength = spec.promptLength ?? 3;
  const tokens: number[] = [];
  const trainable: number[] = [];
  const logprobs: number[] = [];
  const push = (count: number, isTrainable: boolean) => {
    for (let n = 0; n < count; n++) {
      tokens.push(((tokens.length * 7 + 3) % 97) + 1);
      trainable.push(isTrainable ? 1 : 0);
      logprobs.push(isTrainable ? (spec.logprob ?? -0.5) : 0);
    }
  };
  push(promptLength, false);
  const messages: Message[] = [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Question: synthetic\n' },
  ];
  const turns: Turn[] = spec.turns.map((turnSpec, index) => {
    const sampledStart = tokens.length;
    push(turnSpec.sampledLength ?? 4, true);
    const sampled = { start: sampledStart, end: tokens.length };
    const callsTool = turnSpec.reply === 'result' || turnSpec.reply === 'error-result';
    const assistant: Message = {
      role: 'assistant',
      content: callsTool
        ? '<reasoning>look it up</reasoning>\n<tool>{"name": "wiki_search", "args": {"query": "synthetic"}}</tool>'
        : turnSpec.reply === 'invalid'
          ? 'I will just think.'
          : '<reasoning>done</reasoning>\n<answer>synthetic</answer>',
    };
    messages.push(assistant);
    const turn: Turn = {
      index,
      assistant,
      sampled,
      toolCalls: callsTool ? [{ name: 'wiki_search', arguments: { query: 'synthetic' } }] : [],
      isToolResult: callsTool,
      toolFailed: turnSpec.reply === 'error-result',
      truncated: false,
    };
    if (turnSpec.reply) {
      const envStart = tokens.length;
      push(turnSpec.replyLength ?? 3, false);
      const content =
        turnSpec.reply === 'result'
          ? '<result>\nsynthetic article\n</result>'
          : turnSpec.reply === 'error-result'
            ? '<result>\nError: during search\n</result>'
            : FORMAT_ERROR;
      turn.env = { role: 'user', content };
      turn.envSpan = { start: envStart, end: tokens.length };
      messages.push(turn.env);
    }
    return turn;
  });
  const lastReply = spec.turns[spec.turns.length - 1]?.reply;
  return {
    rowId: spec.rowId ?? 'synthetic',
    groupIndex: spec.groupIndex ?? 0,
    messages,
    tokens,
    promptLength,
    trainable,
    logprobs,
    turns,
    turnRewards: spec.turns.map((turnSpec) => turnSpec.reward ?? 0),
    outcomeReward: spec.outcomeReward,
    rewardComponents: {},
    stopReason: spec.stopReason ?? (lastReply === undefined ? 'answered' : 'max_turns'),
    errors: [],
  };
}

/** Builds a group from one spec per rollout (group indices are set in order). */
export function syntheticGroup(specs: SyntheticTrajectorySpec[], rowId = 'synthetic'): TrajectoryGroup {
  return {
    rowId,
    row: { id: rowId },
    trajectories: specs.map((spec, groupIndex) => syntheticTrajectory({ ...spec, rowId, groupIndex })),
  };
}
