/**
 * Searches of an index file in a worker thread, so that a query (a few ms of SQLite BM25) does not
 * stop the main thread: the engine keeps decoding the other rollouts while one waits for its
 * search. The worker opens the same file read-only and runs the same `search` code, so its hits are
 * the ones `SearchIndex.search` returns on the main thread. Queries run one at a time in the order
 * posted. The worker does not keep the process alive while no search is pending; `close` ends it.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DataError, TurnwiseError } from '../../errors.js';
import { activeProfile, COUNTER } from '../../step-profile.js';
import { tsxApiUrl } from '../../typescript-import.js';
import type { SearchHit, SearchOptions } from './search-index.js';

interface Reply {
  id: number;
  hits?: SearchHit[];
  error?: { name: string; message: string };
  milliseconds?: number;
}

interface Waiter {
  resolve: (hits: SearchHit[]) => void;
  reject: (error: Error) => void;
}

/** Something that searches asynchronously (a `SearchWorker`, or a test double). */
export interface BackgroundSearch {
  search(query: string, options: SearchOptions): Promise<SearchHit[]>;
}

/** An index file searched in a worker thread. */
export class SearchWorker implements BackgroundSearch {
  private readonly pending = new Map<number, Waiter>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly indexPath: string,
  ) {
    worker.on('message', (reply: Reply) => this.settle(reply));
    worker.on('error', (error) => this.failAll(new DataError(`search worker for ${indexPath}: ${error.message}`)));
    worker.on('exit', (code) => this.failAll(new DataError(`search worker for ${indexPath} exited (code ${code})`)));
    worker.unref();
  }

  /** Starts a worker on an index file (already checked by `openSearchIndex`) and waits until it has opened it. */
  static async open(indexPath: string): Promise<SearchWorker> {
    const self = fileURLToPath(import.meta.url);
    const typescript = self.endsWith('.ts');
    const workerUrl = pathToFileURL(
      self.replace(/search-worker\.(ts|js)$/, `search-worker-thread.${typescript ? 'ts' : 'js'}`),
    ).href;
    // From the sources the worker runs under tsx, as the main thread does.
    const boot = typescript
      ? `import(${JSON.stringify(tsxApiUrl(workerUrl, [import.meta.url]))}).then((m) => { m.register(); ` +
        `return import(${JSON.stringify(workerUrl)}); });`
      : `import(${JSON.stringify(workerUrl)});`;
    const worker = new Worker(boot, { eval: true, workerData: { indexPath } });
    const listeners: {
      message?: (reply: Reply) => void;
      error?: (error: Error) => void;
      exit?: (code: number) => void;
    } = {};
    try {
      await new Promise<void>((resolve, reject) => {
        listeners.message = (reply: Reply) => {
          if (reply.id !== 0) return;
          if (reply.error) reject(new DataError(`search worker for ${indexPath}: ${reply.error.message}`));
          else resolve();
        };
        listeners.error = reject;
        listeners.exit = (code: number) =>
          reject(new DataError(`search worker for ${indexPath} exited (code ${code}) before it opened the index`));
        worker.on('message', listeners.message);
        worker.on('error', listeners.error);
        worker.on('exit', listeners.exit);
      });
    } catch (error) {
      await worker.terminate();
      throw error;
    } finally {
      worker.off('message', listeners.message!);
      worker.off('error', listeners.error!);
      worker.off('exit', listeners.exit!);
    }
    return new SearchWorker(worker, indexPath);
  }

  /** The hits of `index.search(query, options)`, computed in the worker. */
  search(query: string, options: SearchOptions): Promise<SearchHit[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<SearchHit[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref(); // a pending search keeps the process alive
      this.worker.postMessage({ id, query, options });
    });
  }

  /** Ends the worker; pending searches fail. */
  async close(): Promise<void> {
    if (this.failure) return;
    this.failAll(new TurnwiseError(`search worker for ${this.indexPath} is closed`));
    await this.worker.terminate();
  }

  private settle(reply: Reply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    // The worker's time overlaps the main thread's phases: a counter, not a phase (src/step-profile.ts).
    activeProfile()?.count(COUNTER.workerToolMilliseconds, reply.milliseconds ?? 0);
    if (reply.error) {
      const error =
        reply.error.name === 'DataError' ? new DataError(reply.error.message) : new Error(reply.error.message);
      waiter.reject(error);
    } else waiter.resolve(reply.hits!);
  }

  private failAll(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
