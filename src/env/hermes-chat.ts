/**
 * Tools, tool calls and tool results written as text the way Qwen2.5's chat template writes them
 * (the Hermes `<tool_call>` convention), for chat renderers whose template has no tool support:
 * the tool list becomes a `# Tools` section of the system message, an assistant message's calls
 * become `<tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>` lines after its text, and a
 * run of `tool` messages becomes one user message of `<tool_response>` blocks. Rendered with a
 * ChatML template, the result is the text Qwen2.5's own template renders for the same messages
 * (without its default system line), JSON written as its `tojson` filter writes it.
 */
import type { Message, ToolCall, ToolSpec } from '../types.js';

/**
 * The lines of the Hermes `# Tools` block around the function signatures (one JSON object a line,
 * serialised by the caller), ending with how to write a call; the paper-style HermesFormat and the
 * Qwen2.5 rendering below share it.
 */
export function hermesToolsLines(signatures: string[]): string[] {
  return [
    '# Tools',
    '',
    'You may call one or more functions to assist with the user query.',
    '',
    'You are provided with function signatures within <tools></tools> XML tags:',
    '<tools>',
    ...signatures,
    '</tools>',
    '',
    'For each function call, return a json object with function ' +
      'name and arguments within <tool_call></tool_call> XML tags:',
    '<tool_call>',
    '{"name": <function-name>, "arguments": <args-json-object>}',
    '</tool_call>',
  ];
}

/** The `# Tools` section Qwen2.5's template writes into the system message for `tools`. */
export function hermesToolsSection(tools: ToolSpec[]): string {
  const signatures = tools.map((tool) =>
    pythonJson({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: tool.parameters },
    }),
  );
  return hermesToolsLines(signatures).join('\n');
}

/** One call as Qwen2.5's template writes it. */
export function hermesToolCallText(call: ToolCall): string {
  return (
    '<tool_call>\n' +
    `{"name": ${JSON.stringify(call.name)}, "arguments": ${pythonJson(call.arguments)}}\n` +
    '</tool_call>'
  );
}

/** Plain messages (no `toolCalls`, no `tool` role) carrying the tools, calls and results as text. */
export function toHermesMessages(messages: Message[], tools: ToolSpec[] = []): Message[] {
  const out: Message[] = [];
  if (tools.length > 0) {
    const section = hermesToolsSection(tools);
    if (messages[0]?.role === 'system') out.push({ role: 'system', content: `${messages[0].content}\n\n${section}` });
    else out.push({ role: 'system', content: section });
  }
  messages.forEach((message, index) => {
    if (index === 0 && tools.length > 0 && message.role === 'system') return;
    if (message.role === 'tool') {
      const block = `<tool_response>\n${message.content}\n</tool_response>`;
      const previous = messages[index - 1];
      if (previous?.role === 'tool') out[out.length - 1]!.content += `\n${block}`;
      else out.push({ role: 'user', content: block });
      return;
    }
    const calls = message.toolCalls ?? [];
    if (calls.length === 0) {
      out.push({ role: message.role, content: message.content });
      return;
    }
    const text = calls.map(hermesToolCallText).join('\n');
    out.push({ role: message.role, content: message.content ? `${message.content}\n${text}` : text });
  });
  return out;
}

/**
 * JSON as Python's `json.dumps` (and the `tojson` filter of chat templates) writes it: `", "` and `": "` separators.
 */
export function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}: ${pythonJson(item)}`).join(', ')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
