/**
 * Awaiting a Tinker future through `POST /api/v1/retrieve_future` (tinker-protocol.md section 1.6),
 * as robustly as the Python SDK (`lib/api_future_impl.py`): `try_again`, 408 and a long poll that
 * outlives the client's poll timeout poll again at once; connection errors, 429 and 5xx back off;
 * 402 (the service paused the account) is waited out with a logged message; 410 resubmits the
 * original request (same `seq_id` and idempotency key, so the server deduplicates it). None of
 * these uses up a retry budget: one deadline bounds the whole wait. A 200 carrying a failure in any
 * shape (`{error, category}`, `{error}`, `{status: "failed"}`) or SkyRL's 400 `{detail}` is the
 * request's failure with the server's message; other 4xx are fatal.
 */
import { RemoteError } from '../../errors.js';
import type { ClientStats } from './client-stats.js';
import { errorDetail, sleep, type TinkerTransport } from './transport.js';

/** How to await one future. */
export interface ResolveOptions {
  /** Sends the original request again and returns its new request id (used on 410). */
  resubmit?: () => Promise<string>;
  /** A 400 is a failed request at once (SkyRL) rather than a possibly spurious proxy answer. */
  failedFutureAs400?: boolean;
  /** Longest backoff after a connection error, 429 or 5xx; default 30 s. */
  maxBackoffMs?: number;
  /** First backoff after a connection error, 429 or 5xx; default 500 ms. */
  initialBackoffMs?: number;
  /** Client timeout of one poll (servers hold a poll up to 300 s); default 45 s, the SDK's. */
  pollTimeoutMs?: number;
  /** Give up after this long; default 6 hours. */
  deadlineMs?: number;
  /** What the future is for, in error messages. */
  what?: string;
}

/** Default deadline of a future: a large forward_backward queued behind other runs takes hours. */
export const DEFAULT_FUTURE_DEADLINE_MS = 6 * 3_600_000;

const FAILED_STATUSES = new Set(['failed', 'failure', 'error', 'errored', 'cancelled', 'canceled']);

/**
 * The failure a 200 answer of `retrieve_future` reports, or undefined for a result: an `error`
 * field of any type (hosted Tinker's `{error, category}`, or `{error}` alone), a failed `status`,
 * or `type: "error"`; the message is the server's own text.
 */
export function futureFailure(body: unknown): { message: string; category?: string } | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  const category = typeof record.category === 'string' ? record.category : undefined;
  const failedStatus = typeof record.status === 'string' && FAILED_STATUSES.has(record.status.toLowerCase());
  const failedType = record.type === 'error' || record.type === 'request_failed';
  if ((record.error === undefined || record.error === null) && !failedStatus && !failedType) return undefined;
  for (const key of ['error', 'detail', 'message', 'error_message', 'reason']) {
    const value = record[key];
    if (typeof value === 'string' && value.length > 0) return { message: value, category };
    if (value && typeof value === 'object') {
      const nested = (value as Record<string, unknown>).message;
      return { message: typeof nested === 'string' ? nested : JSON.stringify(value), category };
    }
  }
  return { message: `the server reported a failure without a message: ${JSON.stringify(body)}`, category };
}

/** Polls `retrieve_future` until the future `requestId` has a result, and returns it. */
export async function resolveFuture<T>(
  transport: TinkerTransport,
  requestId: string,
  options: ResolveOptions = {},
  stats: ClientStats = transport.stats,
): Promise<T> {
  const what = options.what ?? 'request';
  const initialBackoff = options.initialBackoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const deadlineMs = options.deadlineMs ?? DEFAULT_FUTURE_DEADLINE_MS;
  const deadline = Date.now() + deadlineMs;
  let backoffs = 0;
  let badRequests = 0;
  let resubmits = 0;
  let id = requestId;
  let polls = 0;
  let last = 'nothing yet';
  const backOff = async (cause: string): Promise<void> => {
    const delay = Math.max(0, Math.min(maxBackoff, initialBackoff * 2 ** backoffs++, deadline - Date.now()));
    stats.retry(cause);
    stats.backoffMs += delay;
    await sleep(delay);
  };
  while (Date.now() < deadline) {
    polls++;
    stats.polls++;
    const sentAt = Date.now();
    const outcome = await transport.attemptPost(
      '/api/v1/retrieve_future',
      { request_id: id, allow_metadata_only: false },
      { timeoutMs: options.pollTimeoutMs ?? 45_000 },
    );
    if (outcome.kind === 'timeout') {
      // The server is holding the poll longer than we wait: the request is still running.
      stats.pollWaits++;
      last = `a poll got ${outcome.message}`;
      continue;
    }
    if (outcome.kind === 'connection') {
      last = `connection error: ${outcome.message}`;
      await backOff('connection');
      continue;
    }
    const { status, body } = outcome;
    stats.pollStatus[status] = (stats.pollStatus[status] ?? 0) + 1;
    if (status !== 429 && status < 500) backoffs = 0;
    last = `HTTP ${status}`;
    if (status === 200) {
      const record = body as Record<string, unknown> | null;
      if (record && record.type === 'try_again') {
        stats.pollWaits++;
        stats.tryAgain++;
        last = `try_again (queue_state ${String(record.queue_state ?? 'unknown')})`;
        // Servers long-poll; one that answers at once must not be polled in a tight loop.
        if (Date.now() - sentAt < 10) await sleep(10);
        continue;
      }
      if (record && record.status === 'complete_metadata') continue;
      const failure = futureFailure(body);
      if (failure) {
        throw new RemoteError(
          `${what} (future ${id}) failed on the server` +
            `${failure.category ? ` (category ${failure.category})` : ''}: ${failure.message}`,
          200,
        );
      }
      return body as T;
    }
    if (status === 408) {
      stats.pollWaits++;
      if (Date.now() - sentAt < 10) await sleep(10);
      continue;
    }
    if (status === 402) {
      await transport.pause(errorDetail(body), deadline, `${what} (future ${id})`);
      continue;
    }
    if (status === 410) {
      if (!options.resubmit || resubmits >= 5) {
        throw new RemoteError(`${what} (future ${id}) expired on the server (HTTP 410) and cannot be resubmitted`, 410);
      }
      resubmits++;
      stats.resubmits++;
      stats.retry('410');
      id = await options.resubmit();
      continue;
    }
    if (status === 429 || status >= 500) {
      last = `HTTP ${status}: ${errorDetail(body)}`;
      await backOff(status === 429 ? '429' : '5xx');
      continue;
    }
    if (status === 400) {
      badRequests++;
      if (options.failedFutureAs400 || badRequests > 3) {
        throw new RemoteError(`${what} (future ${id}) failed on the server: ${errorDetail(body)}`, 400);
      }
      stats.retry('400');
      await sleep(initialBackoff);
      continue;
    }
    throw new RemoteError(
      `retrieve_future for ${what} (future ${id}) failed with HTTP ${status}: ${errorDetail(body)}`,
      status,
    );
  }
  throw new RemoteError(
    `${what} (future ${id}) did not finish within its deadline of ` +
      `${Math.round(deadlineMs / 1000)} s (${polls} polls; last answer: ${last})`,
  );
}
