/**
 * Tool calls out of a completion's text as it streams, in the Hermes / Qwen convention the chat
 * templates (and `toHermesMessages`) teach: `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>`
 * blocks, several a message. Text outside the blocks is the message's content: leading and trailing
 * whitespace dropped, and text that may begin a `<tool_call>` tag held back until it cannot. A block
 * whose JSON does not name one of the request's tools with object arguments stays in the content as
 * written, as does an unclosed block at the end. Streaming and whole responses feed the same parser,
 * so the pieces streamed add up to the whole response.
 */

/** A tool call parsed from a completion: the function and its arguments as JSON text. */
export interface ParsedToolCall {
  name: string;
  arguments: string;
}

/** A piece of a message: content text, or a complete tool call. */
export type MessagePiece = { content: string } | { call: ParsedToolCall };

const OPEN = '<tool_call>';
const CLOSE = '</tool_call>';

/** Incremental parser of one message's tool calls. */
export class ToolCallParser {
  private buffer = '';
  private inside = false;
  private heldSpace = '';
  private started = false;
  private calls = 0;

  /** `toolNames`: the request's tools; `maxCalls`: 1 when parallel tool calls are off. */
  constructor(
    private readonly toolNames: ReadonlySet<string>,
    private readonly maxCalls = Infinity,
  ) {}

  /** Adds text; returns the pieces that became final. */
  push(text: string): MessagePiece[] {
    const out: MessagePiece[] = [];
    this.buffer += text;
    for (;;) {
      if (!this.inside) {
        const open = this.buffer.indexOf(OPEN);
        if (open < 0) {
          const keep = partialTagLength(this.buffer, OPEN);
          this.content(this.buffer.slice(0, this.buffer.length - keep), out);
          this.buffer = this.buffer.slice(this.buffer.length - keep);
          return out;
        }
        this.content(this.buffer.slice(0, open), out);
        this.buffer = this.buffer.slice(open + OPEN.length);
        this.inside = true;
      } else {
        const close = this.buffer.indexOf(CLOSE);
        if (close < 0) return out;
        const body = this.buffer.slice(0, close);
        this.buffer = this.buffer.slice(close + CLOSE.length);
        this.inside = false;
        const call = this.calls < this.maxCalls ? this.decode(body) : undefined;
        if (call) {
          this.calls++;
          out.push({ call });
        } else {
          this.content(OPEN + body + CLOSE, out);
        }
      }
    }
  }

  /** Ends the message; returns what was held back (an unclosed block as content). */
  finish(): MessagePiece[] {
    const out: MessagePiece[] = [];
    this.content(this.inside ? OPEN + this.buffer : this.buffer, out);
    this.buffer = '';
    this.inside = false;
    return out;
  }

  /** Adds content text, dropping leading whitespace and holding trailing whitespace back. */
  private content(text: string, out: MessagePiece[]): void {
    let pending = this.heldSpace + text;
    if (!this.started) pending = pending.trimStart();
    const kept = pending.trimEnd();
    this.heldSpace = pending.slice(kept.length);
    if (kept.length === 0) return;
    this.started = true;
    const last = out[out.length - 1];
    if (last && 'content' in last) last.content += kept;
    else out.push({ content: kept });
  }

  private decode(body: string): ParsedToolCall | undefined {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const { name, arguments: given } = value as Record<string, unknown>;
    if (typeof name !== 'string' || !this.toolNames.has(name)) return undefined;
    let args = given ?? {};
    if (typeof args === 'string') {
      try {
        args = JSON.parse(args);
      } catch {
        return undefined;
      }
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return undefined;
    return { name, arguments: JSON.stringify(args) };
  }
}

/** Length of the longest tail of `text` that is a proper prefix of `tag`. */
function partialTagLength(text: string, tag: string): number {
  for (let k = Math.min(tag.length - 1, text.length); k > 0; k--) if (text.endsWith(tag.slice(0, k))) return k;
  return 0;
}
