/**
 * A Qwen/Hermes-style message format, as today's open instruct models are trained to call tools:
 *
 *   assistant: optional text, then `<tool_call>\n{"name": "wiki_search", "arguments": {"query": "..."}}\n</tool_call>`
 *   environment (user role): `<tool_response>\n{output}\n</tool_response>`
 *   final answer: `<answer>...</answer>` anywhere in an assistant message (first match, stripped).
 *
 * The reply uses the user role with the `<tool_response>` wrapper written out, which is exactly the
 * text Qwen2.5's own template produces for a `tool` message, and works with a plain ChatML template.
 * Like Qwen models, a turn may hold several `<tool_call>` blocks: every one is executed, in order,
 * and each result is its own reply message (sampling then stops at the end-of-turn token or
 * `</answer>`, not at the first `</tool_call>`); `parallelToolCalls: false` keeps one call a turn,
 * stopping at `</tool_call>`. Tool-level errors read as in the XML format. The system prompt lists
 * the tools as JSON schemas inside `<tools></tools>`, as Qwen2.5's does.
 */
import type { Message } from '../types.js';
import type { DecodedToolCall, MessageFormat } from './message-format.js';
import type { Tool } from './tool.js';
import { toolJsonSchema } from './tool-schema.js';
import { jsonTypeName } from './xml-format.js';
import { parseTag, parseTags } from './xml-tags.js';
import { hermesToolsLines } from './hermes-chat.js';

/** The default preamble before the tool list. */
export const HERMES_DEFAULT_PREAMBLE =
  'You are a helpful assistant. Answer the question, using the tools when they help.';

/** Options of the Hermes format. */
export interface HermesFormatOptions {
  /** Text before the `# Tools` section (default: `HERMES_DEFAULT_PREAMBLE`). */
  preamble?: string;
  /**
   * Execute every `<tool_call>` of a turn (default true); false: only the first, stopping sampling at `</tool_call>`.
   */
  parallelToolCalls?: boolean;
}

/** The Qwen/Hermes `<tool_call>` format. */
export class HermesFormat implements MessageFormat {
  readonly name = 'hermes';
  readonly stop: string[];
  readonly parallelToolCalls: boolean;
  readonly noToolCallError =
    'Error: No tool call or answer found. Call a tool inside ' +
    '<tool_call></tool_call> or give your final answer inside <answer></answer>.';
  private readonly preamble: string;

  constructor(options: HermesFormatOptions = {}) {
    this.preamble = options.preamble ?? HERMES_DEFAULT_PREAMBLE;
    this.parallelToolCalls = options.parallelToolCalls ?? true;
    this.stop = this.parallelToolCalls ? ['</answer>'] : ['</tool_call>', '</answer>'];
  }

  systemPrompt(tools: Tool[]): string {
    const signatures = tools.map((tool) =>
      JSON.stringify({
        type: 'function',
        function: { name: tool.name, description: tool.description, parameters: toolJsonSchema(tool) },
      }),
    );
    return [
      this.preamble,
      '',
      ...hermesToolsLines(signatures),
      '',
      'Tool results are shown inside <tool_response></tool_response> tags. ' +
        'Give your final answer inside <answer></answer> tags.',
      '',
    ].join('\n');
  }

  parseToolCall(content: string): string | undefined {
    return parseTag(content, 'tool_call');
  }

  parseToolCalls(content: string): string[] {
    const calls = parseTags(content, 'tool_call');
    return this.parallelToolCalls ? calls : calls.slice(0, 1);
  }

  decodeToolCall(raw: string, tools: ReadonlyMap<string, Tool>): DecodedToolCall {
    let command: unknown;
    try {
      command = JSON.parse(raw);
    } catch {
      return { ok: false, error: 'Error: Invalid JSON format' };
    }
    if (typeof command !== 'object' || command === null || Array.isArray(command)) {
      return { ok: false, error: 'Error: Tool command must be a JSON object' };
    }
    const record = command as Record<string, unknown>;
    const name = record['name'];
    if (name === undefined || name === null || name === '') {
      return { ok: false, error: "Error: Tool command must specify 'name'" };
    }
    const toolName = typeof name === 'string' ? name : JSON.stringify(name);
    if (!tools.has(toolName)) return { ok: false, error: `Error: Unknown tool '${toolName}'` };
    let args = 'arguments' in record ? record['arguments'] : {};
    // Some models write the arguments as a JSON-encoded string (OpenAI style): accept that too.
    if (typeof args === 'string') {
      try {
        args = JSON.parse(args);
      } catch {
        return { ok: false, error: `Error: Tool 'arguments' of ${toolName} is a string that is not valid JSON` };
      }
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      return { ok: false, error: `Error: Tool 'arguments' must be a JSON object, got ${jsonTypeName(args)}` };
    }
    return { ok: true, call: { name: toolName, arguments: args as Record<string, unknown> } };
  }

  parseAnswer(content: string): string | undefined {
    return parseTag(content, 'answer');
  }

  formatResult(output: string): Message {
    return { role: 'user', content: `<tool_response>\n${output}\n</tool_response>` };
  }

  formatError(text: string): Message {
    return { role: 'user', content: text };
  }

  parseResult(content: string): string | undefined {
    return parseTag(content, 'tool_response');
  }
}
