/**
 * Decides when a sampled continuation ends: on a stop token id, or once the generated text
 * contains a stop string. Text is detokenised incrementally: only a window of the newest tokens
 * wide enough to hold any stop string is decoded at each step (a character takes at most 4 bytes
 * and a byte-level token at least one byte), so a long generation costs linear, not quadratic, time.
 * Most steps decode nothing: a stop string new at this step must end in the newest token's text, so
 * when every stop string ends in an ASCII character (the usual `</answer>`) and the newest token's
 * own text (cached per tokenizer and id) holds none of those characters, the step cannot stop.
 */
import type { Tokenizer } from '../rollout/tokenizer.js';

/** Each tokenizer's decoded single tokens, filled as ids are seen. */
const TOKEN_TEXTS = new WeakMap<Tokenizer, Map<number, string>>();

function tokenText(tokenizer: Tokenizer, id: number): string {
  let texts = TOKEN_TEXTS.get(tokenizer);
  if (!texts) {
    texts = new Map();
    TOKEN_TEXTS.set(tokenizer, texts);
  }
  let text = texts.get(id);
  if (text === undefined) {
    text = tokenizer.decode([id]);
    texts.set(id, text);
  }
  return text;
}

/** Stop conditions of one request. */
export class StopChecker {
  private readonly stopIds: Set<number>;
  private readonly stopStrings: string[];
  private readonly window: number;
  /** The last characters of the stop strings, when all are ASCII (else undefined: always decode). */
  private readonly lastCharacters: string[] | undefined;

  constructor(
    private readonly tokenizer: Tokenizer,
    stop: string[],
    stopTokenIds: number[] | undefined,
  ) {
    this.stopIds = new Set(stopTokenIds ?? []);
    this.stopStrings = stop.filter((text) => text.length > 0);
    const longest = this.stopStrings.reduce((max, text) => Math.max(max, text.length), 0);
    this.window = 4 * longest + 2;
    const last = [...new Set(this.stopStrings.map((text) => text[text.length - 1]!))];
    // An ASCII byte is never part of a multi-byte character, so a token's text shows it exactly when
    // the token's bytes hold it.
    this.lastCharacters = last.every((character) => character.charCodeAt(0) < 0x80) ? last : undefined;
  }

  /** True when the newest token of `generated` ends the continuation. */
  isStop(generated: number[]): boolean {
    const newest = generated[generated.length - 1];
    if (newest === undefined) return false;
    if (this.stopIds.has(newest)) return true;
    if (this.stopStrings.length === 0) return false;
    if (this.lastCharacters) {
      const text = tokenText(this.tokenizer, newest);
      if (!this.lastCharacters.some((character) => text.includes(character))) return false;
    }
    const tail = generated.slice(Math.max(0, generated.length - this.window));
    const text = this.tokenizer.decode(tail);
    // A stop string already present without the newest token would have stopped an earlier step.
    return this.stopStrings.some((stop) => text.includes(stop));
  }
}
