/**
 * The futures of the server: every submit endpoint answers `{request_id}` at once and the result
 * is fetched later through `retrieve_future`, which long-polls until the result is ready or a
 * timeout passes. Finished futures are kept for `ttlMs`, then forgotten (a later poll gets 404).
 */

/** The state of one future. */
export type FutureState =
  | { status: 'pending' }
  | { status: 'done'; result: unknown; finishedAt: number }
  | { status: 'failed'; error: string; category: 'user' | 'server'; finishedAt: number };

interface Entry {
  state: FutureState;
  waiters: (() => void)[];
  /** The endpoint that created the future (for per-endpoint fault injection). */
  path: string | undefined;
  /** `retrieve_future` calls so far. */
  polls: number;
}

/** Stores futures and wakes the pollers waiting on them. */
export class FutureStore {
  private readonly entries = new Map<string, Entry>();
  private counter = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly ttlMs = 600_000) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(ttlMs, 60_000));
    this.sweeper.unref();
  }

  /** Creates a pending future for a request to `path` and returns its id. */
  create(path?: string): string {
    const id = `req-${++this.counter}`;
    this.entries.set(id, { state: { status: 'pending' }, waiters: [], path, polls: 0 });
    return id;
  }

  /**
   * Counts one poll of a future; returns the polls so far and the endpoint that created it, or undefined when unknown.
   */
  countPoll(id: string): { polls: number; path: string | undefined } | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    entry.polls++;
    return { polls: entry.polls, path: entry.path };
  }

  /** Number of futures not finished yet. */
  get pendingCount(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.state.status === 'pending') count++;
    return count;
  }

  /** Resolves a future with its result. */
  resolve(id: string, result: unknown): void {
    this.finish(id, { status: 'done', result, finishedAt: Date.now() });
  }

  /** Fails a future; `user` errors are the client's fault, `server` ones ours. */
  fail(id: string, error: string, category: 'user' | 'server'): void {
    this.finish(id, { status: 'failed', error, category, finishedAt: Date.now() });
  }

  /** The state of a future, or undefined when unknown or expired. */
  get(id: string): FutureState | undefined {
    return this.entries.get(id)?.state;
  }

  /** Waits until the future finishes or `timeoutMs` passes; returns its state then. */
  async wait(id: string, timeoutMs: number): Promise<FutureState | undefined> {
    const entry = this.entries.get(id);
    if (entry?.state.status !== 'pending' || timeoutMs <= 0) return entry?.state;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      entry.waiters.push(done);
    });
    return entry.state;
  }

  /** Calls `callback` once the future finishes (at once when it is unknown or already finished, or the store closes). */
  onSettled(id: string, callback: () => void): void {
    const entry = this.entries.get(id);
    if (entry?.state.status !== 'pending') callback();
    else entry.waiters.push(callback);
  }

  /** Stops the sweeper. */
  close(): void {
    clearInterval(this.sweeper);
    for (const entry of this.entries.values()) for (const wake of entry.waiters.splice(0)) wake();
  }

  private finish(id: string, state: FutureState): void {
    const entry = this.entries.get(id);
    if (entry?.state.status !== 'pending') return;
    entry.state = state;
    for (const wake of entry.waiters.splice(0)) wake();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.entries) {
      if (entry.state.status !== 'pending' && now - entry.state.finishedAt > this.ttlMs) this.entries.delete(id);
    }
  }
}
