/**
 * Tool calls out of a completion's text as it streams, in the Hermes / Qwen convention the chat
 * templates (and `toHermesMessages`) teach: `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>`
 * blocks, several a message. Text outside the blocks is the message's content: leading and trailing
 * whitespace dropped, and text that may begin a `<tool_call>` tag held back until it cannot. A block
 * whose JSON does not name one of the request's tools with object arguments stays in the content as
 * written, as does an unclosed block at the end. Streaming and whole responses feed the same parser,
 * so the pieces streamed add up to the whole response. Every character is scanned once (a closing tag's
 * length more at each push), so a long unclosed block streamed token by token stays linear.
 */
import { findCounted, type ScanMeter } from '../../env/scan-meter.js';

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
  /** Outside a block: the end of the text so far when it may begin `<tool_call>`, held back. */
  private held = '';
  private inside = false;
  /** Inside a block: its text so far in pieces (joined once, when it closes), and its last characters. */
  private body: string[] = [];
  private bodyTail = '';
  private heldSpace = '';
  private started = false;
  private calls = 0;

  /**
   * `toolNames`: the request's tools; `maxCalls`: 1 when parallel tool calls are off; `meter` counts
   * the characters scanned (each new character once, plus a tag's length a push).
   */
  constructor(
    private readonly toolNames: ReadonlySet<string>,
    private readonly maxCalls = Infinity,
    private readonly meter?: ScanMeter,
  ) {}

  /** Adds text; returns the pieces that became final. */
  push(text: string): MessagePiece[] {
    const out: MessagePiece[] = [];
    // Scanned: what was held back (or the open block's last characters, which a closing tag may
    // begin in), then the new text; nothing before it is read again.
    const prefix = this.inside ? this.bodyTail : this.held;
    const source = prefix + text;
    let from = 0;
    // Inside a block: where its characters in `source` start, and where this push's piece starts.
    let bodyStart = 0;
    let pieceStart = prefix.length;
    for (;;) {
      if (!this.inside) {
        const open = findCounted(source, OPEN, from, this.meter);
        if (open < 0) {
          const keep = Math.min(partialTagLength(source, OPEN), source.length - from);
          this.content(source.slice(from, source.length - keep), out);
          this.held = source.slice(source.length - keep);
          return out;
        }
        this.content(source.slice(from, open), out);
        this.held = '';
        this.inside = true;
        this.body = [];
        this.bodyTail = '';
        from = open + OPEN.length;
        bodyStart = from;
        pieceStart = from;
      } else {
        const close = findCounted(source, CLOSE, from, this.meter);
        if (close < 0) {
          this.body.push(source.slice(pieceStart));
          this.bodyTail = source.slice(Math.max(bodyStart, source.length - (CLOSE.length - 1)));
          return out;
        }
        // `source` from bodyStart on is the end of the block's text, so index i of it is
        // (length of the whole block) - (source.length - i) in the block.
        const whole = this.body.join('') + source.slice(pieceStart);
        const body = whole.slice(0, whole.length - (source.length - close));
        this.body = [];
        this.bodyTail = '';
        this.inside = false;
        from = close + CLOSE.length;
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
    this.content(this.inside ? OPEN + this.body.join('') : this.held, out);
    this.held = '';
    this.body = [];
    this.bodyTail = '';
    this.inside = false;
    return out;
  }

  /** Adds content text, dropping leading whitespace and holding trailing whitespace back. */
  private content(text: string, out: MessagePiece[]): void {
    if (this.meter !== undefined) this.meter.steps += text.length;
    const kept = (this.started ? text : text.trimStart()).trimEnd();
    // Whitespace alone is appended to what is held (never re-read, so a long run stays linear).
    if (kept.length === 0) {
      if (this.started) this.heldSpace += text;
      return;
    }
    const trailing = text.slice(text.trimEnd().length);
    const piece = this.heldSpace + kept;
    this.heldSpace = trailing;
    this.started = true;
    const last = out[out.length - 1];
    if (last && 'content' in last) last.content += piece;
    else out.push({ content: piece });
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
