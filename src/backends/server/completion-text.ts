/**
 * The text of a completion as its tokens arrive, for the OpenAI routes: each `push` returns only
 * text that is final. Decoding is incremental over a short window (vLLM's prefix/read offsets), so
 * a token that ends inside a UTF-8 character waits for the rest of it; special tokens
 * (`<|im_end|>`, ...) are left out unless asked for; text that could be the start of a stop string
 * is held back until it is not, and `finish` cuts the text at the first stop string (keeping it when
 * asked). Streaming and whole responses use the same class, so their text is the same.
 */
import type { Tokenizer } from '../../rollout/tokenizer.js';

/** Options of a completion's text. */
export interface CompletionTextOptions {
  tokenizer: Tokenizer;
  /** Stop strings of the request. */
  stop: string[];
  /** Tokens to leave out of the text (special tokens, unless the request keeps them). */
  isHidden: (token: number) => boolean;
  /** Keep the stop string in the text (`include_stop_str_in_output`). */
  keepStop: boolean;
}

/** Incremental text of one completion. */
export class CompletionText {
  private readonly options: CompletionTextOptions;
  private readonly visible: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;
  private text = '';
  private emitted = 0;
  /** Where the first stop string starts, and its length, once seen. */
  private stopAt: { index: number; length: number } | undefined;

  constructor(options: CompletionTextOptions) {
    this.options = options;
  }

  /** Adds one token; returns the text that became final. */
  push(token: number): string {
    if (this.options.isHidden(token)) return '';
    this.visible.push(token);
    const { tokenizer } = this.options;
    const before = tokenizer.decode(this.visible.slice(this.prefixOffset, this.readOffset));
    const after = tokenizer.decode(this.visible.slice(this.prefixOffset));
    // A trailing U+FFFD is an incomplete character: wait for the next token.
    if (after.length <= before.length || after.endsWith('\uFFFD')) return '';
    this.text += after.slice(before.length);
    this.prefixOffset = this.readOffset;
    this.readOffset = this.visible.length;
    return this.release(this.safeEnd());
  }

  /** Ends the completion; returns the rest of its text (cut at the first stop string). */
  finish(): string {
    const { tokenizer } = this.options;
    const before = tokenizer.decode(this.visible.slice(this.prefixOffset, this.readOffset));
    const after = tokenizer.decode(this.visible.slice(this.prefixOffset));
    if (after.length > before.length) this.text += after.slice(before.length);
    this.safeEnd();
    const end =
      this.stopAt === undefined
        ? this.text.length
        : this.stopAt.index + (this.options.keepStop ? this.stopAt.length : 0);
    return this.release(end);
  }

  /** The whole text released so far. */
  get released(): string {
    return this.text.slice(0, this.emitted);
  }

  /** How far the text is final: before the first stop string, and before any tail that may begin one. */
  private safeEnd(): number {
    const stops = this.options.stop;
    if (this.stopAt === undefined) {
      for (const stop of stops) {
        const index = this.text.indexOf(stop, Math.max(0, this.emitted - stop.length + 1));
        if (index >= 0 && (this.stopAt === undefined || index < this.stopAt.index))
          this.stopAt = { index, length: stop.length };
      }
    }
    if (this.stopAt !== undefined) return this.stopAt.index;
    let end = this.text.length;
    for (const stop of stops) {
      for (let k = Math.min(stop.length - 1, this.text.length - this.emitted); k > 0; k--) {
        if (this.text.endsWith(stop.slice(0, k))) {
          end = Math.min(end, this.text.length - k);
          break;
        }
      }
    }
    return end;
  }

  private release(end: number): string {
    if (end <= this.emitted) return '';
    const part = this.text.slice(this.emitted, end);
    this.emitted = end;
    return part;
  }
}
