/**
 * A counting semaphore for async work: at most `limit` tasks run at once, the rest wait in FIFO
 * order, so tasks start in the order they were submitted.
 */

/** Runs async tasks with at most `limit` in flight. */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`ConcurrencyLimit: limit must be a positive integer, got ${limit}`);
  }

  /** Runs `task` once a slot is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.active--;
    }
  }
}
