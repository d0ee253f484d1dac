/**
 * The search-QA environment in the Qwen/Hermes `<tool_call>` format (`task.format: hermes`), written
 * token for token as the OpenAI-compatible gateway renders a conversation with tools
 * (`src/backends/server/chat-prompt.ts` over `toHermesMessages`): the system message is the prompt
 * followed by the `# Tools` block of the tool's OpenAI function spec, a call is
 * `<tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>` after the reasoning, a result is a
 * user message `<tool_response>\n...\n</tool_response>`, and a turn ends at the model's end-of-turn
 * token (no stop strings), as a chat completion does. So the warm start's demonstrations, a native
 * ToolEnv agent and an agent of one's own talking to the gateway (given `searchQaToolSpec`) see and
 * write the same tokens.
 */
import { hermesToolCallText, hermesToolsSection } from '../../env/hermes-chat.js';
import { HermesFormat } from '../../env/hermes-format.js';
import type { Tool } from '../../env/tool.js';
import { toolJsonSchema } from '../../env/tool-schema.js';
import { ToolEnv } from '../../env/tool-env.js';
import type { EnvFactory } from '../../env/env.js';
import type { ToolSpec } from '../../types.js';

/** The system prompt of the Hermes format, before the tools block the gateway appends. */
export const HERMES_SYSTEM_PROMPT =
  'Answer the question. First reason in <reasoning>, then call wiki_search once; ' +
  'read the <tool_response>, reason again, and give the answer in <answer>.';

/** The function spec an agent sends for `tool` (name, description, JSON Schema of the arguments). */
export function searchQaToolSpec(tool: Tool): Required<ToolSpec> {
  return { name: tool.name, description: tool.description ?? '', parameters: toolJsonSchema(tool) };
}

/** The system message the gateway renders for `HERMES_SYSTEM_PROMPT` and `tool`. */
export function hermesSystemMessage(tool: Tool): string {
  return `${HERMES_SYSTEM_PROMPT}\n\n${hermesToolsSection([searchQaToolSpec(tool)])}`;
}

/** A call of the search tool as the gateway re-renders it in the history. */
export function hermesSearchCall(query: string, name = 'wiki_search'): string {
  return hermesToolCallText({ name, arguments: { query } });
}

/** The Hermes format with a turn ending at the end-of-turn token, as a chat completion ends. */
export class ChatHermesFormat extends HermesFormat {
  override readonly stop: string[] = [];
}

/** Field sets of the XML format rewards in the Hermes format: `<reasoning>`, then a call or the answer. */
export const HERMES_XML_FIELDS: readonly (readonly string[])[] = [['reasoning'], ['tool_call', 'answer']];

/** The native ToolEnv of the search-QA task in the Hermes format. */
export function hermesSearchQaEnv<Row>(tool: Tool, maxToolCalls?: number): EnvFactory<Row> {
  return ToolEnv.factory<Row>({
    tools: [tool],
    format: new ChatHermesFormat(),
    systemPrompt: hermesSystemMessage(tool),
    ...(maxToolCalls !== undefined ? { maxToolCalls } : {}),
  });
}
