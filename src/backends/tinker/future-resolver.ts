/**
 * Awaiting a Tinker future through `POST /api/v1/retrieve_future` (tinker-protocol.md section 1.6):
 * `try_again` and 408 poll again, 5xx and 429 back off, 410 resubmits the original request (same
 * `seq_id` and idempotency key, so the server deduplicates it), a 200 `{error, category}` or
 * SkyRL's 400 `{detail}` is the request's failure, and other 4xx are fatal.
 */
import { RemoteError } from '../../errors.js';
import { errorDetail, sleep, type TinkerTransport } from './transport.js';

/** How to await one future. */
export interface ResolveOptions {
  /** Sends the original request again and returns its new request id (used on 410). */
  resubmit?: () => Promise<string>;
  /** A 400 is a failed request at once (SkyRL) rather than a possibly spurious proxy answer. */
  failedFutureAs400?: boolean;
  /** Longest backoff after 429 / 5xx; default 30 s. */
  maxBackoffMs?: number;
  /** First backoff after 429 / 5xx; default 500 ms. */
  initialBackoffMs?: number;
  /** Give up after this long; default 1 hour. */
  deadlineMs?: number;
  /** What the future is for, in error messages. */
  what?: string;
}

/** Counters of what the resolver met, for tests and logs. */
export interface ResolverStats {
  polls: number;
  tryAgain: number;
  status: Record<string, number>;
  resubmits: number;
}

/** Polls `retrieve_future` until the future `requestId` has a result, and returns it. */
export async function resolveFuture<T>(transport: TinkerTransport, requestId: string, options: ResolveOptions = {}, stats?: ResolverStats): Promise<T> {
  const what = options.what ?? 'request';
  const initialBackoff = options.initialBackoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const deadline = Date.now() + (options.deadlineMs ?? 3_600_000);
  let backoffs = 0;
  let badRequests = 0;
  let resubmits = 0;
  let id = requestId;
  while (Date.now() < deadline) {
    if (stats) stats.polls++;
    const sentAt = Date.now();
    const answer = await transport.post('/api/v1/retrieve_future', { request_id: id, allow_metadata_only: false }, { retryStatuses: false, timeoutMs: 45_000 });
    if (stats) stats.status[answer.status] = (stats.status[answer.status] ?? 0) + 1;
    if (answer.status === 200) {
      const body = answer.body as Record<string, unknown> | null;
      if (body && body.type === 'try_again') {
        if (stats) stats.tryAgain++;
        // Servers long-poll; one that answers at once must not be polled in a tight loop.
        if (Date.now() - sentAt < 10) await sleep(10);
        continue;
      }
      if (body && body.status === 'complete_metadata') continue;
      if (body && typeof body.error === 'string' && 'category' in body) {
        throw new RemoteError(`${what} (future ${id}) failed on the server (category ${String(body.category)}): ${body.error}`, 200);
      }
      return body as T;
    }
    if (answer.status === 408) continue;
    if (answer.status === 410) {
      if (!options.resubmit || resubmits >= 5) {
        throw new RemoteError(`${what} (future ${id}) expired on the server (HTTP 410) and cannot be resubmitted`, 410);
      }
      resubmits++;
      if (stats) stats.resubmits++;
      id = await options.resubmit();
      continue;
    }
    if (answer.status === 429 || answer.status >= 500) {
      await sleep(Math.min(maxBackoff, initialBackoff * 2 ** backoffs++));
      continue;
    }
    if (answer.status === 400) {
      badRequests++;
      if (options.failedFutureAs400 || badRequests > 3) {
        throw new RemoteError(`${what} (future ${id}) failed on the server: ${errorDetail(answer.body)}`, 400);
      }
      await sleep(initialBackoff);
      continue;
    }
    throw new RemoteError(`retrieve_future for ${what} (future ${id}) failed with HTTP ${answer.status}: ${errorDetail(answer.body)}`, answer.status);
  }
  throw new RemoteError(`${what} (future ${id}) did not finish within ${options.deadlineMs ?? 3_600_000} ms`);
}
