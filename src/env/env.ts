/**
 * The Env contract: an episode of a multi-turn environment. `reset` takes a dataset row and gives the
 * initial messages; `step` takes each assistant message and says whether the episode is done and,
 * if not, what the environment answers. An Env instance holds one episode's state, so a rollout gets
 * its own instance from an `EnvFactory`.
 */
import type { Message, StopReason, ToolCall } from '../types.js';

/** Options the rollout loop passes to `step`. */
export interface EnvStepOptions {
  /**
   * The loop cannot continue (the token budget is spent): classify the message and end the episode
   * without running any tool. The env reports its own stop reason if the message ends the episode
   * anyway (an answer, the tool-call limit), else `token_budget`.
   */
  final?: boolean;
}

/** What the environment does after one assistant message. */
export interface EnvStep {
  /** True when the episode is over; `reply` is then absent. */
  done: boolean;
  /** Why the episode ended (set when `done`). */
  stopReason?: StopReason;
  /** The environment's answer (set when not `done`; the first message when there are several). */
  reply?: Message;
  /**
   * Every message of the answer, in order, when there are several: one result per tool call of a
   * turn that made several. The turn stays one assistant message followed by all of them.
   */
  replies?: Message[];
  /** Tool calls decoded from the assistant message (0 or 1 in the paper's format; several in Hermes). */
  toolCalls: ToolCall[];
  /** True when the answer carries a tool result (paper: it contains `<result>`). */
  isToolResult: boolean;
  /** True when a tool result of the answer starts with `Error:`. */
  toolFailed: boolean;
}

/** One episode of a multi-turn environment. */
export interface Env<Row = unknown> {
  /** Stop strings for sampling each assistant turn (kept in the output). */
  readonly stop: string[];
  /** Starts an episode for `row`; returns the initial messages (system, user, ...). */
  reset(row: Row): Message[] | Promise<Message[]>;
  /** Reacts to one assistant message. */
  step(message: Message, options?: EnvStepOptions): EnvStep | Promise<EnvStep>;
}

/** Makes a fresh Env for each rollout (episodes run concurrently, each with its own state). */
export type EnvFactory<Row = unknown> = () => Env<Row>;
