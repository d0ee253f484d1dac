/**
 * `WorkLimiter`: at most `maxPerKey` units of work in flight per API key (or per client without
 * one), counted from when a request is admitted until its answer is sent or, for a Tinker submit,
 * until the future it created settles. One client cannot queue unbounded work in front of others;
 * a refusal is a 429 with `retry-after`, which every Tinker and OpenAI client retries.
 */
import { HttpError } from './http-io.js';

/** Counts work in flight per key and refuses past the limit. */
export class WorkLimiter {
  private readonly inFlight = new Map<string, number>();

  constructor(readonly maxPerKey: number) {}

  /** Admits one unit of work for `key` and returns its release (idempotent), or throws 429 past the limit. */
  acquire(key: string): () => void {
    const count = this.inFlight.get(key) ?? 0;
    if (count >= this.maxPerKey)
      throw new HttpError(
        429,
        `this key already has ${count} requests in flight, the server's limit per key ` +
          `(--max-concurrent-per-key ${this.maxPerKey}); retry once some finish`,
        { 'retry-after': '1', 'retry-after-ms': '500' },
      );
    this.inFlight.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(key);
      else this.inFlight.set(key, left);
    };
  }

  /** Work in flight for `key`. */
  count(key: string): number {
    return this.inFlight.get(key) ?? 0;
  }
}
