/**
 * The MessageFormat contract: how a model writes tool calls and answers and how the environment
 * writes results back. One interface, one file per format: the paper's XML format (default,
 * `xml-format.ts`) and a Qwen/Hermes-style format (`hermes-format.ts`). The tool env and the
 * paper's reward functions only talk to this interface, so every format gets the same loop.
 */
import type { Message, ToolCall } from '../types.js';
import type { Tool } from './tool.js';

/** A decoded tool call, or the `Error: ...` text the model sees when the call cannot be decoded. */
export type DecodedToolCall = { ok: true; call: ToolCall } | { ok: false; error: string };

/** One way of writing tool calls, answers and results. */
export interface MessageFormat {
  /** Short name for configs and logs (`xml`, `hermes`). */
  readonly name: string;
  /** Stop strings for sampling; the stop string is kept in the output. */
  readonly stop: string[];
  /** What the environment says to a message with neither a parseable tool call nor an answer. */
  readonly noToolCallError: string;
  /** The system prompt listing `tools` and telling the model how to call them and answer. */
  systemPrompt(tools: Tool[]): string;
  /** The raw text of the first parseable tool call in an assistant message, or undefined. */
  parseToolCall(content: string): string | undefined;
  /**
   * The raw text of every tool call in an assistant message, in order, for formats that allow
   * several calls a turn (Hermes); a format without it runs at most one call a turn (the paper's).
   */
  parseToolCalls?(content: string): string[];
  /** Decodes a raw tool call (`parseToolCall`'s text) against the known tools. */
  decodeToolCall(raw: string, tools: ReadonlyMap<string, Tool>): DecodedToolCall;
  /** The final answer in an assistant message, or undefined when it holds none. */
  parseAnswer(content: string): string | undefined;
  /** The environment message carrying a tool's output (paper: `<result>\n...\n</result>`). */
  formatResult(output: string): Message;
  /** The environment message sent when there is no result to show (paper: no `<result>` tag). */
  formatError(text: string): Message;
  /** The result text of an environment message, or undefined when it carries no result. */
  parseResult(content: string): string | undefined;
}

/** The message sent when an assistant message holds neither a parseable tool call nor an answer. */
export const NO_TOOL_CALL_ERROR =
  'Error: Tool command not found or invalid XML format. Please ensure correct formatting.';
/** The message sent when a tool returned only whitespace. */
export const EMPTY_OUTPUT_ERROR = 'Error: Tool execution returned empty output.';
