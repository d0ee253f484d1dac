/**
 * The paper's XML message format (default): the model writes `<reasoning>...</reasoning>` then
 * `<tool>{"name": ..., "args": {...}}</tool>` or `<answer>...</answer>`; the environment answers in a
 * user message `<result>\n{output}\n</result>`. The system prompt is the reference code's
 * `DEFAULT_TrivialQA_TOOL_PROMPT_TEMPLATE` filled by `format_tool_descriptions`, character for
 * character (PAPER.md section 1, paper-digest 5.2).
 */
import type { Message } from '../types.js';
import { NO_TOOL_CALL_ERROR, type DecodedToolCall, type MessageFormat } from './message-format.js';
import type { Tool } from './tool.js';
import { toolArguments } from './tool-schema.js';
import { parseTag } from './xml-tags.js';

/** The paper's system prompt template; `{tool_descriptions}` is replaced by the tool list. */
export const PAPER_SYSTEM_PROMPT_TEMPLATE = `You have access to the following tools to help solve problems:

{tool_descriptions}

Follow these steps exactly once:
1. Think through your reasoning inside <reasoning> tags
2. Use a tool by writing a JSON command inside <tool> tags with:
   - "name": the tool to use
   - "args": the arguments for the tool
3. You will see the tool's output inside <result> tags
4. Think through the tool's output inside <reasoning> tags
5. Based on your reasoning, provide your final answer inside <answer> tags

Important:
- Use the tool exactly once - \
DO NOT attempt to call the tool again even if the first search doesn't give helpful results
- You must work with both your prior knowledge and whatever information the single tool call provides
- If the tool doesn't return useful information, rely on your prior knowledge to answer
- Tools expect specific JSON input formats. Follow the examples carefully
- Do not make up tools or arguments that aren't listed
- After getting the tool result, analyze it in a reasoning step before giving your answer
- Your answer should match the expected ground-truth
`;

/** Formats a default value as Python's `str()` would print it in the reference prompt. */
function formatDefault(value: unknown): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

/** The reference code's `format_tool_descriptions`: one block per tool, blank line between. */
export function formatToolDescriptions(tools: Tool[]): string {
  return tools
    .map((tool) => {
      const lines = [`${tool.name}: ${tool.description}`, '\nArguments:'];
      for (const argument of toolArguments(tool)) {
        const suffix = argument.hasDefault ? ` (default: ${formatDefault(argument.defaultValue)})` : '';
        lines.push(`  - ${argument.name}: ${argument.description}${suffix}`);
      }
      return lines.join('\n');
    })
    .join('\n\n');
}

/** Options of the XML format. */
export interface XmlFormatOptions {
  /** System prompt template with a `{tool_descriptions}` placeholder (default: the paper's). */
  promptTemplate?: string;
}

/** The paper's XML format. */
export class XmlFormat implements MessageFormat {
  readonly name = 'xml';
  readonly stop = ['</tool>', '</answer>'];
  readonly noToolCallError = NO_TOOL_CALL_ERROR;
  private readonly promptTemplate: string;

  constructor(options: XmlFormatOptions = {}) {
    this.promptTemplate = options.promptTemplate ?? PAPER_SYSTEM_PROMPT_TEMPLATE;
  }

  systemPrompt(tools: Tool[]): string {
    return this.promptTemplate.replace('{tool_descriptions}', () => formatToolDescriptions(tools));
  }

  parseToolCall(content: string): string | undefined {
    return parseTag(content, 'tool');
  }

  // The checks and messages of the reference `ToolEnv.call_tool`, in its order.
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
    if (name === undefined || name === null || name === '' || name === false || name === 0) {
      return { ok: false, error: "Error: Tool command must specify 'name'" };
    }
    const toolName = typeof name === 'string' ? name : JSON.stringify(name);
    if (!tools.has(toolName)) return { ok: false, error: `Error: Unknown tool '${toolName}'` };
    const args = 'args' in record ? record['args'] : {};
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      return {
        ok: false,
        error: `Error: ${toolName}() argument after ** must be a mapping, not ${jsonTypeName(args)}`,
      };
    }
    return { ok: true, call: { name: toolName, arguments: args as Record<string, unknown> } };
  }

  parseAnswer(content: string): string | undefined {
    return parseTag(content, 'answer');
  }

  formatResult(output: string): Message {
    return { role: 'user', content: `<result>\n${output}\n</result>` };
  }

  formatError(text: string): Message {
    return { role: 'user', content: text };
  }

  parseResult(content: string): string | undefined {
    return parseTag(content, 'result');
  }
}

/** The JSON type of a value, named as Python would (`str`, `list`, ...). */
export function jsonTypeName(value: unknown): string {
  if (typeof value === 'string') return 'str';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return 'list';
  if (value === null) return 'NoneType';
  return typeof value;
}
