/**
 * HTTP transport of the Tinker client: JSON bodies, `X-API-Key` auth, one `X-Idempotency-Key` per
 * logical POST (reused on every retry of it), and the SDK's retry policy (tinker-protocol.md
 * section 1.2): connection errors, 408, 409, 429 and 5xx are retried with exponential backoff that
 * honours `retry-after(-ms)`; 400, 401, 403, 404, 422 fail at once with the server's message. As in
 * the SDK, a busy service (408, 429) does not use up the attempt budget and a paused one (402, e.g.
 * billing) is waited out with a logged message; both are bounded by the call's deadline.
 */
import { randomUUID } from 'node:crypto';
import { RemoteError } from '../../errors.js';
import { ClientStats } from './client-stats.js';

/** Retry policy of the transport. */
export interface RetryPolicy {
  /** Attempts in all, the first one included, against connection errors, timeouts, 409 and 5xx. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/** The SDK's defaults: 10 attempts, 0.5 s doubling to 10 s. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 10, initialDelayMs: 500, maxDelayMs: 10_000 };

/** Options of a transport. */
export interface TransportOptions {
  baseUrl: string;
  apiKey?: string;
  retry?: Partial<RetryPolicy>;
  /** Per-attempt timeout; default 60 s. */
  timeoutMs?: number;
  /** Longest one call keeps retrying and waiting (408, 429, 402 included); default 30 min. */
  deadlineMs?: number;
  /** Wait between attempts while the service answers 402; default 5 s (the SDK's). */
  pauseRetryMs?: number;
  /** Counters shared with the futures and the sampler (default: a fresh one). */
  stats?: ClientStats;
  /** Where pause and resume messages go; default `console.warn`. */
  log?: (message: string) => void;
}

/** One HTTP answer. */
export interface HttpAnswer {
  status: number;
  body: unknown;
  headers: Headers;
}

/** Options of one call. */
export interface CallOptions {
  /** Retry the statuses this call handles itself? Default true (retry 408/409/429/5xx). */
  retryStatuses?: boolean;
  timeoutMs?: number;
  /** Overrides the transport's deadline for this call. */
  deadlineMs?: number;
  headers?: Record<string, string>;
  /** Reuse this idempotency key (a resubmission of the same logical request). */
  idempotencyKey?: string;
}

const RETRIED = (status: number): boolean => status === 408 || status === 409 || status === 429 || status >= 500;

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The text a server put in an error body (`detail`, `error` or `message`), or the raw body. */
export function errorDetail(body: unknown): string {
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    for (const key of ['detail', 'error', 'message']) {
      const value = record[key];
      if (typeof value === 'string') return value;
      if (value !== undefined) return JSON.stringify(value);
    }
  }
  return typeof body === 'string' ? body : JSON.stringify(body);
}

/** One attempt's outcome: an HTTP answer, or no answer (timed out, or the connection failed). */
export type AttemptOutcome =
  | ({ kind: 'answer' } & HttpAnswer)
  | { kind: 'timeout'; message: string }
  | { kind: 'connection'; message: string };

/** Sends JSON requests to a Tinker server with retries. */
export class TinkerTransport {
  readonly baseUrl: string;
  readonly stats: ClientStats;
  private apiKey: string | undefined;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly deadlineMs: number;
  private readonly pauseRetryMs: number;
  private readonly log: (message: string) => void;
  /** When the service started answering 402, and when that was last logged. */
  private pausedSince: number | undefined;
  private pauseLoggedAt = 0;

  constructor(options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.deadlineMs = options.deadlineMs ?? 1_800_000;
    this.pauseRetryMs = options.pauseRetryMs ?? 5_000;
    this.stats = options.stats ?? new ClientStats();
    this.log = options.log ?? ((message) => console.warn(message));
  }

  /** Counts of retried attempts by cause, for tests and logs. */
  get retries(): Record<string, number> {
    return this.stats.retriesByCause;
  }

  /** Replaces the credential sent as `X-API-Key` (a JWT exchanged for the API key). */
  setCredential(token: string): void {
    this.apiKey = token;
  }

  /** A fresh idempotency key. */
  newIdempotencyKey(): string {
    return randomUUID();
  }

  /** The backoff before attempt `attempt + 1`, honouring a server's `retry-after(-ms)` header. */
  backoffMs(attempt: number, headers?: Headers): number {
    const afterMs = Number(headers?.get('retry-after-ms'));
    if (Number.isFinite(afterMs) && afterMs > 0) return Math.min(afterMs, this.retry.maxDelayMs * 6);
    const afterSeconds = Number(headers?.get('retry-after'));
    if (Number.isFinite(afterSeconds) && afterSeconds > 0)
      return Math.min(afterSeconds * 1000, this.retry.maxDelayMs * 6);
    return Math.min(this.retry.maxDelayMs, this.retry.initialDelayMs * 2 ** attempt);
  }

  /** POSTs `body` to `path` (relative to the base URL) and returns the final answer. */
  post(path: string, body: unknown, options: CallOptions = {}): Promise<HttpAnswer> {
    return this.call('POST', path, body, {
      ...options,
      idempotencyKey: options.idempotencyKey ?? this.newIdempotencyKey(),
    });
  }

  /** GETs `path`. */
  get(path: string, options: CallOptions = {}): Promise<HttpAnswer> {
    return this.call('GET', path, undefined, options);
  }

  /** POSTs and returns the body of a 2xx answer; throws `RemoteError` naming the endpoint otherwise. */
  async postOk<T>(path: string, body: unknown, options: CallOptions = {}): Promise<T> {
    const answer = await this.post(path, body, options);
    if (answer.status < 200 || answer.status >= 300) {
      throw new RemoteError(
        `POST ${path} failed with HTTP ${answer.status}: ${errorDetail(answer.body)}`,
        answer.status,
      );
    }
    return answer.body as T;
  }

  /** GETs and returns the body of a 2xx answer. */
  async getOk<T>(path: string): Promise<T> {
    const answer = await this.get(path);
    if (answer.status < 200 || answer.status >= 300) {
      throw new RemoteError(
        `GET ${path} failed with HTTP ${answer.status}: ${errorDetail(answer.body)}`,
        answer.status,
      );
    }
    return answer.body as T;
  }

  /**
   * One POST attempt without any retry: the caller (the futures loop) decides what a timeout, a
   * failed connection or each status means. Clears a billing pause once an answer other than 402 arrives.
   */
  async attemptPost(
    path: string,
    body: unknown,
    options: { timeoutMs?: number; headers?: Record<string, string> } = {},
  ): Promise<AttemptOutcome> {
    const headers = this.headers(true, options.headers, this.newIdempotencyKey());
    const outcome = await this.attempt(
      'POST',
      path,
      JSON.stringify(body),
      headers,
      options.timeoutMs ?? this.timeoutMs,
    );
    if (outcome.kind === 'answer' && outcome.status !== 402) this.resumed();
    return outcome;
  }

  /**
   * Waits out one HTTP 402 (the service paused the account, e.g. for billing) like the SDK: logs
   * that the run is paused (then at most once a minute), sleeps `pauseRetryMs` and returns, or
   * throws once `deadline` (a `Date.now()` value) would pass.
   */
  async pause(detail: string, deadline: number, what: string): Promise<void> {
    const now = Date.now();
    if (this.pausedSince === undefined) this.pausedSince = now;
    const pausedFor = Math.round((now - this.pausedSince) / 1000);
    if (now + this.pauseRetryMs > deadline) {
      throw new RemoteError(
        `${what}: the service has answered HTTP 402 (paused: ${detail}) for ${pausedFor} s, ` +
          `and the request's deadline has passed; resolve the account status and resume the run`,
        402,
      );
    }
    if (now - this.pauseLoggedAt >= 60_000) {
      this.pauseLoggedAt = now;
      this.log(
        `[tinker] the service paused this run (HTTP 402: ${detail}); retrying every ` +
          `${this.pauseRetryMs / 1000} s${pausedFor > 0 ? ` (paused for ${pausedFor} s so far)` : ''}`,
      );
    }
    await sleep(this.pauseRetryMs);
    this.stats.pausedMs += this.pauseRetryMs;
  }

  private resumed(): void {
    if (this.pausedSince === undefined) return;
    this.log(
      `[tinker] the service resumed this run after ` +
        `${Math.round((Date.now() - this.pausedSince) / 1000)} s paused (HTTP 402)`,
    );
    this.pausedSince = undefined;
    this.pauseLoggedAt = 0;
  }

  private headers(
    withBody: boolean,
    extra: Record<string, string> | undefined,
    idempotencyKey?: string,
  ): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (withBody) headers['content-type'] = 'application/json';
    if (this.apiKey) headers['x-api-key'] = this.apiKey;
    Object.assign(headers, extra);
    if (idempotencyKey) headers['x-idempotency-key'] = idempotencyKey;
    return headers;
  }

  private async attempt(
    method: string,
    path: string,
    payload: string | undefined,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<AttemptOutcome> {
    try {
      const response = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      return { kind: 'answer', status: response.status, body: parseBody(text), headers: response.headers };
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      return timedOut
        ? { kind: 'timeout', message: `no answer within ${timeoutMs} ms` }
        : { kind: 'connection', message: connectionErrorText(error) };
    }
  }

  /**
   * Sends until a final answer. Connection errors, per-attempt timeouts, 5xx and 409 use up the
   * attempt budget; 408 and 429 (the service is busy, not broken) and 402 (paused) do not. Every
   * wait is bounded by the call's deadline.
   */
  private async call(method: string, path: string, body: unknown, options: CallOptions): Promise<HttpAnswer> {
    const headers = this.headers(body !== undefined, options.headers, options.idempotencyKey);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const retryStatuses = options.retryStatuses ?? true;
    const deadline = Date.now() + (options.deadlineMs ?? this.deadlineMs);
    const what = `${method} ${this.baseUrl}${path}`;
    let failures = 0;
    let waits = 0;
    let lastError = '';
    for (;;) {
      const outcome = await this.attempt(method, path, payload, headers, options.timeoutMs ?? this.timeoutMs);
      let cause: string;
      let retryAfter: Headers | undefined;
      if (outcome.kind === 'answer') {
        if (outcome.status === 402) {
          await this.pause(errorDetail(outcome.body), deadline, what);
          continue;
        }
        this.resumed();
        if (!retryStatuses || !RETRIED(outcome.status)) return outcome;
        lastError = `HTTP ${outcome.status}: ${errorDetail(outcome.body)}`;
        cause = outcome.status >= 500 ? '5xx' : String(outcome.status);
        retryAfter = outcome.headers;
      } else {
        lastError = outcome.message;
        cause = outcome.kind;
      }
      const budgeted = cause !== '408' && cause !== '429';
      if (budgeted && ++failures >= this.retry.maxAttempts) {
        throw new RemoteError(`${what} failed after ${this.retry.maxAttempts} attempts; last error: ${lastError}`);
      }
      const delay = this.backoffMs(budgeted ? failures - 1 : waits++, retryAfter);
      if (Date.now() + delay > deadline) {
        throw new RemoteError(
          `${what} did not succeed within its deadline of ` +
            `${Math.round((options.deadlineMs ?? this.deadlineMs) / 1000)} s; last error: ${lastError}`,
        );
      }
      this.stats.retry(cause);
      this.stats.backoffMs += delay;
      await sleep(delay);
    }
  }
}

function parseBody(text: string): unknown {
  if (text.length === 0) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function connectionErrorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
