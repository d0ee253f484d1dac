/**
 * The shared vocabulary of turnwise: messages, tool calls, turns, trajectories and groups.
 *
 * Token layout of a trajectory (T tokens in all):
 *
 *   [ prompt (mask 0) | turn 0 sampled (mask 1) | env reply 0 (mask 0) | turn 1 sampled (mask 1) | ... ]
 *
 * Tokens are recorded exactly as sampled; environment replies are appended as tokens and never
 * re-tokenised together with earlier turns. Every per-token array has length T.
 */

/** Who wrote a message. The paper's environment replies use the `user` role; `tool` is for
 * formats (Hermes/Qwen) whose templates have a tool role. */
export type Role = 'system' | 'user' | 'assistant' | 'tool';

/** One chat message. */
export interface Message {
  role: Role;
  content: string;
  /**
   * Structured tool calls of an assistant message (an OpenAI-style history, as the gateway receives
   * it); a chat template renders them. Rollouts keep a call in the sampled `content` text instead.
   */
  toolCalls?: ToolCall[];
  /** The id of the call a `tool` message answers (OpenAI's `tool_call_id`). */
  toolCallId?: string;
}

/** A parsed tool call: the tool's name and its (not yet validated) arguments. */
export interface ToolCall {
  name: string;
  arguments: Record<string, unknown>;
  /** The call's id, when it has one (OpenAI's `tool_calls[].id`). */
  id?: string;
}

/**
 * A tool as a chat template and the OpenAI API describe it: a name, a description and a JSON Schema of its arguments.
 */
export interface ToolSpec {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

/** Half-open range `[start, end)` of token indices into `Trajectory.tokens`. */
export interface TokenSpan {
  start: number;
  end: number;
}

/**
 * Why an episode ended.
 * - `answered`: the last assistant message held a parseable final answer.
 * - `max_tool_calls`: the number of assistant messages with a parseable tool call reached the limit
 *   (the paper's second tool call ends the episode without being executed).
 * - `token_budget`: the completion budget over all turns (tool output included) was spent.
 * - `max_turns`: a safety cap on assistant turns was reached.
 * - `error`: the policy or the environment failed; see `Trajectory.errors`.
 */
export type StopReason = 'answered' | 'max_tool_calls' | 'token_budget' | 'max_turns' | 'error';

/** One assistant turn and the environment's reply to it. */
export interface Turn {
  /** 0-based turn index within the trajectory. */
  index: number;
  /** The assistant message as the model wrote it (decoded from `sampled`). */
  assistant: Message;
  /** The assistant's tokens (all trainable, mask 1). */
  sampled: TokenSpan;
  /** Tool calls parsed from the assistant message (0 or 1 in the paper's format; several in Hermes). */
  toolCalls: ToolCall[];
  /** The environment's reply; absent on the final turn (the first message when there are several). */
  env?: Message;
  /** Every message of the reply, in order, when there are several (one result per tool call). */
  envMessages?: Message[];
  /** Tokens of the environment reply (all its messages), chat-template tokens included (mask 0). */
  envSpan?: TokenSpan;
  /** True when the reply carries a tool result (paper: the reply contains `<result>`). */
  isToolResult: boolean;
  /** True when a tool result of the reply starts with `Error:`. */
  toolFailed: boolean;
  /** True when sampling stopped on the token limit rather than a stop string. */
  truncated: boolean;
}

/** One rollout: a full multi-turn episode with its tokens, logprobs and rewards. */
export interface Trajectory {
  /** Id of the dataset row this rollout answers. */
  rowId: string;
  /** Index of this rollout within its group (0..G-1). */
  groupIndex: number;
  /** The whole conversation: system, user, then alternating assistant and environment messages. */
  messages: Message[];
  /** All token ids, prompt included, as sampled (T). */
  tokens: number[];
  /** Number of prompt tokens at the start of `tokens`. */
  promptLength: number;
  /**
   * Token indices where a new model sequence starts (absent or empty: one sequence from token 0).
   * An agent behind the gateway that rewrites its history sends a prompt that does not extend the
   * tokens so far; that prompt starts a new sequence (its tokens, mask 0, are the previous turn's
   * environment span) and trains as a datum of its own, never re-tokenised into the earlier one.
   */
  sequenceStarts?: number[];
  /** 1 where the token was sampled by the policy and is trained on, else 0 (T). */
  trainable: number[];
  /** Sampling-time logprob of each trainable token under the sampling temperature; 0 elsewhere (T). */
  logprobs: number[];
  /** The assistant turns in order (K). */
  turns: Turn[];
  /**
   * Turn-level rewards R^T_k, one entry per turn (K). In the paper's two-turn task every turn-level
   * reward scores turn 0, so `turnRewards = [R^T, 0]`.
   */
  turnRewards: number[];
  /** Outcome reward R^O of the whole trajectory. */
  outcomeReward: number;
  /** Every reward function's unweighted value by name, for metrics. */
  rewardComponents: Record<string, number>;
  /** Why the episode ended. */
  stopReason: StopReason;
  /** Errors met during the rollout or scoring (a throwing reward function lands here). */
  errors: string[];
}

/** The G rollouts of one dataset row: the unit over which advantages are normalised. */
export interface TrajectoryGroup<Row = unknown> {
  rowId: string;
  row: Row;
  trajectories: Trajectory[];
}

/** Per-token advantages of one group: `advantages_G_T[i][t]`, 0 on non-trainable tokens. */
export type GroupAdvantages = number[][];
