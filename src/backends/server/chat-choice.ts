/**
 * One choice of a chat completion, built token by token: its text (`CompletionText`), its tool
 * calls (`ToolCallParser`, when the request has tools and a tool_choice other than `none`) and its
 * logprobs. Each token yields the stream chunk deltas it makes final; the whole message is what the
 * deltas add up to, so a streamed and a whole response carry the same message.
 */
import type { GeneratedToken, SampleResult } from '../../rollout/policy.js';
import { CompletionText, type CompletionTextOptions } from './completion-text.js';
import type { ChatLogprob, TokenNames } from './token-logprobs.js';
import { type MessagePiece, ToolCallParser } from './tool-call-parser.js';

/** Options of a choice. */
export interface ChatChoiceOptions extends CompletionTextOptions {
  names: TokenNames;
  /** Text the assistant turn was opened with (a tool call begun by the server). */
  prefill: string;
  /** Tools whose calls are parsed out of the text (empty: the text is the content, as written). */
  parseTools: ReadonlySet<string>;
  maxCalls: number;
  /** Logprob entries wanted, and how many alternatives each. */
  logprobs: boolean;
  topLogprobs: number;
  /** The id of the choice's k-th tool call. */
  callId: (k: number) => string;
}

/** A tool call in OpenAI's shape. */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** One `choices[]` entry of a stream chunk. */
export interface ChunkChoice {
  index: number;
  delta: { role?: 'assistant'; content?: string; tool_calls?: (ChatToolCall & { index: number })[] };
  logprobs: { content: ChatLogprob[]; refusal: null } | null;
  finish_reason: 'stop' | 'length' | 'tool_calls' | null;
  token_ids?: number[];
}

/** The state of one choice. */
export class ChatChoice {
  readonly logprobEntries: ChatLogprob[] = [];
  readonly toolCalls: ChatToolCall[] = [];
  content = '';
  finishReason: ChunkChoice['finish_reason'] = null;
  private readonly text: CompletionText;
  private readonly parser: ToolCallParser | undefined;
  private opened = false;

  constructor(
    readonly index: number,
    private readonly options: ChatChoiceOptions,
  ) {
    this.text = new CompletionText(options);
    this.parser = options.parseTools.size > 0 ? new ToolCallParser(options.parseTools, options.maxCalls) : undefined;
  }

  /** The chunk choices one sampled token makes final. */
  token(token: GeneratedToken, withIds = false): ChunkChoice[] {
    const chunks = this.open();
    const pieces = this.read(this.text.push(token.token));
    const entry = this.options.logprobs
      ? this.options.names.chatEntry(token.token, token.logprob, token.topLogprobs, this.options.topLogprobs)
      : undefined;
    if (entry) this.logprobEntries.push(entry);
    const delta = this.delta(pieces);
    if (Object.keys(delta).length > 0 || entry || withIds) {
      chunks.push({
        index: this.index,
        delta,
        logprobs: entry ? { content: [entry], refusal: null } : null,
        finish_reason: null,
        ...(withIds ? { token_ids: [token.token] } : {}),
      });
    }
    return chunks;
  }

  /** The chunk choices that end the choice: the text held back, then the finish reason. */
  finish(result: SampleResult): ChunkChoice[] {
    const chunks = this.open();
    const pieces = [...this.read(this.text.finish()), ...(this.parser?.finish() ?? [])];
    const delta = this.delta(pieces);
    if (Object.keys(delta).length > 0) chunks.push({ index: this.index, delta, logprobs: null, finish_reason: null });
    this.finishReason = this.toolCalls.length > 0 ? 'tool_calls' : result.finishReason;
    chunks.push({ index: this.index, delta: {}, logprobs: null, finish_reason: this.finishReason });
    return chunks;
  }

  /** The whole message. */
  message(): { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[]; refusal: null } {
    if (this.toolCalls.length === 0) return { role: 'assistant', content: this.content, refusal: null };
    return {
      role: 'assistant',
      content: this.content === '' ? null : this.content,
      tool_calls: this.toolCalls,
      refusal: null,
    };
  }

  /** The first chunk of a choice names the role (and reads the prefill). */
  private open(): ChunkChoice[] {
    if (this.opened) return [];
    this.opened = true;
    const first: ChunkChoice = {
      index: this.index,
      delta: { role: 'assistant', content: '' },
      logprobs: null,
      finish_reason: null,
    };
    if (!this.options.prefill) return [first];
    const delta = this.delta(this.read(this.options.prefill));
    return [
      first,
      ...(Object.keys(delta).length > 0 ? [{ index: this.index, delta, logprobs: null, finish_reason: null }] : []),
    ];
  }

  private read(text: string): MessagePiece[] {
    if (this.parser) return this.parser.push(text);
    return text ? [{ content: text }] : [];
  }

  private delta(pieces: MessagePiece[]): ChunkChoice['delta'] {
    const delta: ChunkChoice['delta'] = {};
    for (const piece of pieces) {
      if ('content' in piece) {
        delta.content = (delta.content ?? '') + piece.content;
        this.content += piece.content;
      } else {
        const call: ChatToolCall = {
          id: this.options.callId(this.toolCalls.length),
          type: 'function',
          function: piece.call,
        };
        delta.tool_calls = [...(delta.tool_calls ?? []), { index: this.toolCalls.length, ...call }];
        this.toolCalls.push(call);
      }
    }
    return delta;
  }
}
