/**
 * Decides when a sampled continuation ends: on a stop token id, or once the generated text
 * contains a stop string. Text is detokenised incrementally: only a window of the newest tokens
 * wide enough to hold any stop string is decoded at each step (a character takes at most 4 bytes
 * and a byte-level token at least one byte), so a long generation costs linear, not quadratic, time.
 */
import type { Tokenizer } from '../rollout/tokenizer.js';

/** Stop conditions of one request. */
export class StopChecker {
  private readonly stopIds: Set<number>;
  private readonly stopStrings: string[];
  private readonly window: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    stop: string[],
    stopTokenIds: number[] | undefined,
  ) {
    this.stopIds = new Set(stopTokenIds ?? []);
    this.stopStrings = stop.filter((text) => text.length > 0);
    const longest = this.stopStrings.reduce((max, text) => Math.max(max, text.length), 0);
    this.window = 4 * longest + 2;
  }

  /** True when the newest token of `generated` ends the continuation. */
  isStop(generated: number[]): boolean {
    const newest = generated[generated.length - 1];
    if (newest === undefined) return false;
    if (this.stopIds.has(newest)) return true;
    if (this.stopStrings.length === 0) return false;
    const tail = generated.slice(Math.max(0, generated.length - this.window));
    const text = this.tokenizer.decode(tail);
    // A stop string already present without the newest token would have stopped an earlier step.
    return this.stopStrings.some((stop) => text.includes(stop));
  }
}
