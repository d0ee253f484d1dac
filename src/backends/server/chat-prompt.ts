/**
 * A chat request's prompt: its messages (assistant `tool_calls` and `tool` messages included) and
 * its `tools`, rendered by the backend's chat renderer, given the tools as Hugging Face's
 * `apply_chat_template(tools=...)` does when the template supports tools, else written into the
 * messages as Qwen2.5's template writes them (`toHermesMessages`). `tool_choice` decides how the
 * completion is read: `none` leaves it text; `auto` parses `<tool_call>` blocks; `required` and a
 * named function also open the assistant turn with `<tool_call>` (and the name), the way a
 * constrained decoder would start it, so the model writes the call from there.
 */
import { hermesToolCallText, toHermesMessages } from '../../env/hermes-chat.js';
import type { ChatRenderer } from '../../rollout/chat-renderer.js';
import type { Tokenizer } from '../../rollout/tokenizer.js';
import type { Message, Role, ToolCall, ToolSpec } from '../../types.js';
import { OpenAiError, type ChatMessageInput, type ChatRequest } from './openai-schema.js';

/** What the routes sample from, and how they read the completion. */
export interface ChatPrompt {
  /** The request's messages as turnwise messages (tool calls and tool messages included). */
  messages: Message[];
  /** Prompt token ids, the prefill included. */
  tokens: number[];
  /** Text the assistant turn was opened with (part of the message, not sampled). */
  prefill: string;
  /** Names of the request's tools whose calls are parsed out of the completion (empty: plain text). */
  parseTools: ReadonlySet<string>;
  /** At most this many calls are returned (1 when `parallel_tool_calls` is false). */
  maxCalls: number;
}

/** Renders a validated chat request with `renderer`. */
export function buildChatPrompt(request: ChatRequest, renderer: ChatRenderer, tokenizer: Tokenizer): ChatPrompt {
  const messages = request.messages.map(toMessage);
  const tools: ToolSpec[] = (request.tools ?? []).map(({ function: fn }) => ({
    name: fn.name,
    ...(fn.description != null && { description: fn.description }),
    ...(fn.parameters != null && { parameters: fn.parameters }),
  }));
  const names = new Set(tools.map((tool) => tool.name));
  if (names.size < tools.length) throw new OpenAiError(400, 'tools has two functions with the same name', 'tools');
  const choice = request.tool_choice ?? (tools.length > 0 ? 'auto' : 'none');
  if (choice !== 'none' && tools.length === 0)
    throw new OpenAiError(
      400,
      `tool_choice ${JSON.stringify(typeof choice === 'string' ? choice : choice.function.name)} ` +
        `needs tools; send the function definitions in tools`,
      'tool_choice',
    );
  let prefill = '';
  if (choice === 'required') prefill = '<tool_call>\n{"name": "';
  else if (typeof choice === 'object') {
    if (!names.has(choice.function.name))
      throw new OpenAiError(
        400,
        `tool_choice names function ${JSON.stringify(choice.function.name)}, ` +
          `which is not in tools (${[...names].join(', ')})`,
        'tool_choice',
      );
    // Everything before the arguments, exactly as a whole call would be written.
    const whole = hermesToolCallText({ name: choice.function.name, arguments: {} });
    prefill = whole.slice(0, whole.indexOf('{}}'));
  }
  // The shared renderer answers rendersTools once (it renders a probe); a fork renders this conversation.
  const native = renderer.rendersTools === true;
  const chat = renderer.fork?.() ?? renderer;
  const prompt = native
    ? chat.renderPrompt(messages, tools.length > 0 ? { tools } : {})
    : chat.renderPrompt(toHermesMessages(messages, tools));
  return {
    messages,
    tokens: prefill ? [...prompt, ...tokenizer.encode(prefill)] : prompt,
    prefill,
    parseTools: choice === 'none' ? new Set() : names,
    maxCalls: request.parallel_tool_calls === false ? 1 : Infinity,
  };
}

function toMessage(message: ChatMessageInput, index: number): Message {
  const role = toRole(message.role, index);
  const content = contentText(message.content, index);
  if (role === 'tool') {
    if (!message.tool_call_id)
      throw new OpenAiError(
        400,
        `messages[${index}] is a tool message without tool_call_id`,
        `messages.${index}.tool_call_id`,
      );
    return { role, content, toolCallId: message.tool_call_id };
  }
  if (message.tool_calls && message.tool_calls.length > 0) {
    if (role !== 'assistant')
      throw new OpenAiError(
        400,
        `messages[${index}] has tool_calls but role ${role}; only assistant messages call tools`,
        `messages.${index}.tool_calls`,
      );
    return {
      role,
      content,
      toolCalls: message.tool_calls.map((call, callIndex) => toToolCall(call, index, callIndex)),
    };
  }
  return { role, content };
}

function toToolCall(
  call: NonNullable<ChatMessageInput['tool_calls']>[number],
  index: number,
  callIndex: number,
): ToolCall {
  const where = `messages.${index}.tool_calls.${callIndex}.function.arguments`;
  let args: unknown;
  try {
    args = JSON.parse(call.function.arguments);
  } catch {
    throw new OpenAiError(
      400,
      `${where} is not valid JSON: ${JSON.stringify(call.function.arguments.slice(0, 60))}`,
      where,
    );
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args))
    throw new OpenAiError(400, `${where} must be a JSON object`, where);
  return { id: call.id, name: call.function.name, arguments: args as Record<string, unknown> };
}

function toRole(role: string, index: number): Role {
  if (role === 'developer') return 'system';
  if (role === 'system' || role === 'user' || role === 'assistant' || role === 'tool') return role;
  throw new OpenAiError(
    400,
    `messages[${index}].role ${JSON.stringify(role)} is not one of system, developer, user, assistant, tool`,
    `messages.${index}.role`,
  );
}

function contentText(content: ChatMessageInput['content'], index: number): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part, partIndex) => {
      if (part.type !== 'text' || typeof part.text !== 'string') {
        throw new OpenAiError(
          400,
          `messages[${index}].content[${partIndex}] has type ` +
            `${JSON.stringify(part.type)}; only text parts are supported`,
          `messages.${index}.content`,
        );
      }
      return part.text;
    })
    .join('');
}
