/**
 * The worker-thread side of `SearchWorker`: opens one index file read-only and answers searches
 * posted by the main thread, one at a time, each with the milliseconds it took. Its first message
 * (id 0) says whether the file opened.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../../errors.js';
import { openSearchIndexFile, type SearchIndex, type SearchOptions } from './search-index.js';

interface Request {
  id: number;
  query: string;
  options: SearchOptions;
}

const port = parentPort!;
const failure = (error: unknown) => ({
  name: error instanceof Error ? error.name : 'Error',
  message: errorMessage(error),
});

let index: SearchIndex | undefined;
try {
  index = openSearchIndexFile((workerData as { indexPath: string }).indexPath);
  port.postMessage({ id: 0 });
} catch (error) {
  port.postMessage({ id: 0, error: failure(error) });
}

port.on('message', ({ id, query, options }: Request) => {
  const start = performance.now();
  try {
    const hits = index!.search(query, options);
    port.postMessage({ id, hits, milliseconds: performance.now() - start });
  } catch (error) {
    port.postMessage({ id, error: failure(error), milliseconds: performance.now() - start });
  }
});
port.once('close', () => index?.close());
