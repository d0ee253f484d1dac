/**
 * One rollout of an agent that talks to the gateway, as a trajectory: the calls it made, in order,
 * each recorded with the exact prompt token ids the gateway rendered and the completion token ids
 * and logprobs it sampled. The turns are the assistant messages. A call whose prompt extends the
 * tokens so far (the previous prompt, its completion, then the new messages) appends only the new
 * tokens, mask 0, as the previous turn's environment span; a call whose prompt does not (the agent
 * rewrote, trimmed or summarised its history) starts a new model sequence, recorded in
 * `sequenceStarts` and trained as a datum of its own. Nothing is ever re-tokenised.
 */
import { DataError } from '../errors.js';
import type { Message, StopReason, ToolCall, Trajectory, Turn } from '../types.js';

/** One chat completion the gateway served for a rollout. */
export interface RecordedCall {
  /** The request's messages, as the agent sent them. */
  messages: Message[];
  /** Prompt token ids as the gateway rendered them (generation prompt included). */
  promptTokens: number[];
  /** Sampled token ids, the end-of-turn token included when it was sampled. */
  completionTokens: number[];
  /** Sampling-time logprob of each completion token. */
  completionLogprobs: number[];
  /** The assistant message returned (content without special tokens). */
  response: Message;
  /** Tool calls parsed from the completion (several in one turn are one turn). */
  toolCalls: ToolCall[];
  /** Why sampling stopped. */
  finishReason: 'stop' | 'length' | 'tool_calls';
}

/** Where a rollout came from and how it ended. */
export interface RolloutIdentity {
  rowId: string;
  groupIndex: number;
  /** How the agent ended (default: `answered` when it returned, the caller says otherwise). */
  stopReason?: StopReason;
  errors?: string[];
}

const startsWith = (tokens: readonly number[], prefix: readonly number[]): boolean =>
  prefix.length <= tokens.length && prefix.every((id, i) => tokens[i] === id);

/** The messages an agent added after its last assistant message: the environment's reply. */
function replyMessages(messages: readonly Message[]): Message[] {
  let last = -1;
  messages.forEach((message, i) => {
    if (message.role === 'assistant') last = i;
  });
  return messages.slice(last + 1);
}

/** Builds the unscored trajectory of one rollout's calls (at least one). */
export function trajectoryFromCalls(calls: readonly RecordedCall[], identity: RolloutIdentity): Trajectory {
  if (calls.length === 0)
    throw new DataError(
      `rollout ${identity.rowId}/${identity.groupIndex} made no ` +
        `call to the gateway; expected at least one chat completion`,
    );
  const tokens: number[] = [];
  const trainable: number[] = [];
  const logprobs: number[] = [];
  const turns: Turn[] = [];
  const sequenceStarts: number[] = [];
  let sequenceStart = 0;
  const push = (ids: readonly number[], mask: 0 | 1, values?: readonly number[]) => {
    ids.forEach((id, i) => {
      tokens.push(id);
      trainable.push(mask);
      logprobs.push(mask === 1 ? values![i]! : 0);
    });
  };
  calls.forEach((call, k) => {
    if (call.completionTokens.length !== call.completionLogprobs.length) {
      throw new DataError(
        `rollout ${identity.rowId}/${identity.groupIndex}, call ${k}: ` +
          `${call.completionTokens.length} completion tokens but ${call.completionLogprobs.length} logprobs`,
      );
    }
    if (k > 0) {
      const sequence = tokens.slice(sequenceStart);
      let added: readonly number[];
      if (startsWith(call.promptTokens, sequence)) added = call.promptTokens.slice(sequence.length);
      else {
        sequenceStart = tokens.length;
        sequenceStarts.push(sequenceStart);
        added = call.promptTokens;
      }
      const previous = turns[k - 1]!;
      const reply = replyMessages(call.messages);
      const tools = reply.filter((message) => message.role === 'tool');
      previous.envSpan = { start: tokens.length, end: tokens.length + added.length };
      if (reply.length > 0)
        previous.env = { role: reply[0]!.role, content: reply.map((message) => message.content).join('\n') };
      previous.isToolResult = tools.length > 0;
      previous.toolFailed = tools.some((message) => /^\s*error\b/i.test(message.content));
      push(added, 0);
    } else push(call.promptTokens, 0);
    const start = tokens.length;
    push(call.completionTokens, 1, call.completionLogprobs);
    turns.push({
      index: k,
      assistant: call.response,
      sampled: { start, end: tokens.length },
      toolCalls: call.toolCalls,
      isToolResult: false,
      toolFailed: false,
      truncated: call.finishReason === 'length',
    });
  });
  const last = calls[calls.length - 1]!;
  return {
    rowId: identity.rowId,
    groupIndex: identity.groupIndex,
    messages: [...last.messages, last.response],
    tokens,
    promptLength: calls[0]!.promptTokens.length,
    ...(sequenceStarts.length > 0 ? { sequenceStarts } : {}),
    trainable,
    logprobs,
    turns,
    turnRewards: [],
    outcomeReward: 0,
    rewardComponents: {},
    stopReason: identity.stopReason ?? (last.finishReason === 'length' ? 'token_budget' : 'answered'),
    errors: identity.errors ?? [],
  };
}
