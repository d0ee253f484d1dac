/**
 * Turnwise tools (MCP tools included) for an agent of one's own, written with the OpenAI SDK or
 * the AI SDK, such as an agent trained through an OpenAI-compatible gateway: `openAiTools(tools)`
 * is the `tools` array of a chat completions request (each tool's name, description and JSON
 * Schema as `parameters`), and `executeToolCall(tools, call)` runs a call the model made, by name
 * with its JSON arguments, the way ToolEnv runs one: validated, under a timeout, every failure an
 * `Error: ...` text for the tool message, never a throw.
 */
import { ConfigError } from '../errors.js';
import { runTool, type ToolRun } from './run-tool.js';
import type { Tool } from './tool.js';
import { toolJsonSchema } from './tool-schema.js';
import { jsonTypeName } from './xml-format.js';

/** One entry of an OpenAI chat completions `tools` array. */
export interface OpenAiFunctionTool {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** A tool call as a model made it: OpenAI sends `arguments` as a JSON string, the AI SDK as an object. */
export interface ToolCallRequest {
  name: string;
  arguments: string | Record<string, unknown>;
}

/** Options of `executeToolCall`. */
export interface ExecuteToolCallOptions {
  /** Milliseconds before the call is abandoned when the tool sets none (default 30 000, as ToolEnv). */
  timeoutMs?: number;
  /** Passed to the tool as `context.row`. */
  row?: unknown;
}

/** The OpenAI `tools` array of `tools`; throws a ConfigError if two share a name. */
export function openAiTools(tools: readonly Tool[]): OpenAiFunctionTool[] {
  const names = new Set<string>();
  return tools.map((tool) => {
    if (names.has(tool.name))
      throw new ConfigError(`openAiTools: two tools are named '${tool.name}'; tool names must be unique`);
    names.add(tool.name);
    return {
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: toolJsonSchema(tool) },
    };
  });
}

/** Runs a model's tool call with the named tool; the output is the tool message's content. Never throws. */
export async function executeToolCall(
  tools: readonly Tool[],
  call: ToolCallRequest,
  options: ExecuteToolCallOptions = {},
): Promise<ToolRun> {
  const failed = (output: string): ToolRun => ({ output, failure: output });
  const tool = tools.find((candidate) => candidate.name === call.name);
  if (tool === undefined) return failed(`Error: Unknown tool '${call.name}'`);
  let args: unknown = call.arguments;
  if (typeof args === 'string') {
    // Models send "" for a call without arguments.
    try {
      args = args.trim().length === 0 ? {} : JSON.parse(args);
    } catch {
      return failed(`Error: the arguments of '${call.name}' are not valid JSON`);
    }
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return failed(`Error: the arguments of '${call.name}' must be a JSON object, got ${jsonTypeName(args)}`);
  }
  return runTool(
    tool,
    { name: tool.name, arguments: args as Record<string, unknown> },
    { timeoutMs: options.timeoutMs ?? 30_000, row: options.row },
  );
}
