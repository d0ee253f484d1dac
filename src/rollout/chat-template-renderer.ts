/**
 * A ChatRenderer driven by a Hugging Face chat template (Jinja, rendered with `@huggingface/jinja`),
 * generic over the Tokenizer contract. ChatML is the default template; any HF template string works
 * as long as it has the prefix property: rendering the conversation with one more assistant message
 * and reply must start with the text rendered before plus the assistant's text. `renderReply`
 * renders the whole conversation again, checks that property (a clear ConfigError if the template
 * breaks it, e.g. one that rewrites earlier turns), and tokenises only the new text suffix, so the
 * sampled tokens are never re-tokenised. One renderer holds one conversation: make one per rollout
 * (`ChatTemplateRenderer.factory`, or `fork()`; the rollout loop forks the renderer it is given, so
 * sharing one instance across concurrent rollouts is safe).
 *
 * Tools reach the template as Hugging Face's `apply_chat_template` passes them: `tools` is a list of
 * `{type: "function", function: {name, description, parameters}}`, an assistant message's calls are
 * `tool_calls: [{id, type: "function", function: {name, arguments}}]` (arguments as an object, as
 * Qwen's template expects) and a tool message has `tool_call_id`. `rendersTools` tells whether the
 * template writes tools at all (it renders a probe with and without one).
 */
import { Template } from '@huggingface/jinja';
import { ConfigError, TurnwiseError, errorMessage } from '../errors.js';
import type { Message, ToolSpec } from '../types.js';
import type { ChatRenderer, RenderOptions } from './chat-renderer.js';
import type { Tokenizer } from './tokenizer.js';

/** ChatML, as used by Qwen2.5 (without its default system message and tool sections). */
export const CHATML_TEMPLATE =
  '{%- for message in messages %}' +
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

/** Texts whose token ids a renderer and its forks keep (least recently used dropped first). */
export const RECENT_ENCODINGS = 256;

/** Options of a template renderer. */
export interface ChatTemplateRendererOptions {
  tokenizer: Tokenizer;
  /** A Hugging Face chat template (Jinja) string; default ChatML. */
  template?: string;
  /**
   * Special tokens that end an assistant turn when sampled (default: those of `<|im_end|>`,
   * `<|endoftext|>`, `<|eot_id|>`, `<end_of_turn>` the tokenizer knows). Their ids are the sampler's
   * stop token ids; when a turn ends with one, the template's own copy is not appended again.
   */
  endOfTurnTokens?: string[];
  /** Extra template variables (`bos_token`, `eos_token`, `tools`, ...). */
  variables?: Record<string, unknown>;
}

const DEFAULT_END_OF_TURN = ['<|im_end|>', '<|endoftext|>', '<|eot_id|>', '<end_of_turn>'];

/** Renders messages with a chat template; one instance per conversation. */
export class ChatTemplateRenderer implements ChatRenderer {
  readonly stopTokenIds: number[];
  private readonly tokenizer: Tokenizer;
  private readonly template: Template;
  private readonly endOfTurnTokens: string[];
  private readonly variables: Record<string, unknown>;
  private readonly options: ChatTemplateRendererOptions;
  private messages: Message[] | undefined;
  private tools: ToolSpec[] | undefined;
  private text = '';
  private toolSupport: boolean | undefined;
  /** Token ids of recently encoded texts, shared by a renderer and its forks (see `encode`). */
  private readonly encodings: Map<string, readonly number[]>;

  constructor(options: ChatTemplateRendererOptions, parsed?: Template, encodings?: Map<string, readonly number[]>) {
    this.options = options;
    this.encodings = encodings ?? new Map();
    this.tokenizer = options.tokenizer;
    try {
      this.template = parsed ?? new Template(options.template ?? CHATML_TEMPLATE);
    } catch (error) {
      throw new ConfigError(`chat template does not parse: ${errorMessage(error)}`);
    }
    const requested = options.endOfTurnTokens ?? DEFAULT_END_OF_TURN;
    if (options.endOfTurnTokens) {
      const missing = requested.filter((token) => options.tokenizer.tokenId(token) === undefined);
      if (missing.length > 0)
        throw new ConfigError(`endOfTurnTokens ${JSON.stringify(missing)} are not special tokens of the tokenizer`);
    }
    this.endOfTurnTokens = requested.filter((token) => options.tokenizer.tokenId(token) !== undefined);
    this.stopTokenIds = this.endOfTurnTokens.map((token) => options.tokenizer.tokenId(token)!);
    this.variables = options.variables ?? {};
  }

  /** A fresh renderer for another conversation, sharing the parsed template and the recent encodings. */
  fork(): ChatTemplateRenderer {
    return new ChatTemplateRenderer(this.options, this.template, this.encodings);
  }

  /** The text rendered so far (the prompt, sampled turns and replies); matches the tokens. */
  get renderedText(): string {
    return this.text;
  }

  /** True when the template renders a `tools` list (Qwen2.5, Llama 3.1, Hermes templates do; plain ChatML does not). */
  get rendersTools(): boolean {
    if (this.toolSupport === undefined) {
      const messages: Message[] = [{ role: 'user', content: 'probe' }];
      const probe: ToolSpec = {
        name: 'turnwise_probe_tool',
        description: 'probe',
        parameters: { type: 'object', properties: {} },
      };
      try {
        this.toolSupport = this.render(messages, [probe]) !== this.render(messages, undefined);
      } catch {
        this.toolSupport = false;
      }
    }
    return this.toolSupport;
  }

  renderPrompt(messages: Message[], options: RenderOptions = {}): number[] {
    this.messages = messages.map((message) => ({ ...message }));
    this.tools = options.tools;
    this.text = this.render(this.messages, this.tools);
    return this.encode(this.text);
  }

  renderReply(reply: Message | Message[], assistant?: Message): number[] {
    if (this.messages === undefined)
      throw new TurnwiseError('ChatTemplateRenderer.renderReply called before renderPrompt');
    if (assistant === undefined) {
      throw new TurnwiseError(
        'ChatTemplateRenderer.renderReply needs the sampled assistant ' +
          'message (second argument) to extend the conversation',
      );
    }
    let content = assistant.content;
    const endToken = this.endOfTurnTokens.find((token) => content.endsWith(token));
    if (endToken !== undefined) content = content.slice(0, -endToken.length);

    const replies = Array.isArray(reply) ? reply : [reply];
    const turn: Message = { role: 'assistant', content };
    const messages = [...this.messages, turn, ...replies.map((message) => ({ ...message }))];
    const full = this.render(messages, this.tools);
    const expected = this.text + content;
    if (!full.startsWith(expected)) {
      let at = 0;
      while (at < expected.length && full[at] === expected[at]) at++;
      throw new ConfigError(
        `chat template breaks the prefix property: after adding an ` +
          `assistant message and a reply, the rendering differs from ` +
          `the text rendered before at character ${at} (expected ${JSON.stringify(expected.slice(at, at + 40))}, ` +
          `got ${JSON.stringify(full.slice(at, at + 40))}). Multi-turn rollouts need a template that renders earlier ` +
          `turns unchanged (no trimming, no rewriting of past assistant messages).`,
      );
    }
    let suffix = full.slice(expected.length);
    if (endToken !== undefined) {
      // The sampled end token is in the tokens. When the template writes it too, its copy is
      // dropped; when it writes another (a turn ended by <|endoftext|>, ChatML closing with
      // <|im_end|>), the conversation keeps the sampled one in the assistant's content, so the
      // next turn's render reproduces this text and its tokens.
      if (suffix.startsWith(endToken)) suffix = suffix.slice(endToken.length);
      else turn.content = content + endToken;
    }
    this.messages = messages;
    this.text = expected + (endToken ?? '') + suffix;
    return this.encode(suffix);
  }

  /**
   * `tokenizer.encode(text)`, remembered for the last RECENT_ENCODINGS texts: the G rollouts of a
   * group render the same prompt, and rollouts that search the same words get the same reply text.
   * Encoding is a function of the text, so the ids are the tokenizer's; each caller gets its own copy.
   */
  private encode(text: string): number[] {
    const kept = this.encodings.get(text);
    if (kept !== undefined) {
      this.encodings.delete(text);
      this.encodings.set(text, kept);
      return kept.slice();
    }
    const ids = this.tokenizer.encode(text);
    if (this.encodings.size >= RECENT_ENCODINGS) this.encodings.delete(this.encodings.keys().next().value!);
    this.encodings.set(text, ids.slice());
    return ids;
  }

  private render(messages: Message[], tools: ToolSpec[] | undefined): string {
    const toolVariables = tools === undefined ? {} : { tools: tools.map(templateTool) };
    try {
      return this.template.render({
        ...this.variables,
        ...toolVariables,
        messages: messages.map(templateMessage),
        add_generation_prompt: true,
      });
    } catch (error) {
      throw new ConfigError(`chat template failed to render ${messages.length} messages: ${errorMessage(error)}`);
    }
  }
}

/** A message in the shape Hugging Face templates read (keys absent when unused, so plain messages render as before). */
function templateMessage(message: Message): Record<string, unknown> {
  const shaped: Record<string, unknown> = { role: message.role, content: message.content };
  if (message.toolCalls && message.toolCalls.length > 0) {
    shaped['tool_calls'] = message.toolCalls.map((call) => ({
      ...(call.id === undefined ? {} : { id: call.id }),
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  if (message.toolCallId !== undefined) shaped['tool_call_id'] = message.toolCallId;
  return shaped;
}

/** A tool in the shape of `apply_chat_template(tools=...)`. */
export function templateTool(tool: ToolSpec): Record<string, unknown> {
  const fn: Record<string, unknown> = { name: tool.name };
  if (tool.description !== undefined) fn['description'] = tool.description;
  if (tool.parameters !== undefined) fn['parameters'] = tool.parameters;
  return { type: 'function', function: fn };
}
