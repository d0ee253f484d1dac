/**
 * HTTP transport of the Tinker client: JSON bodies, `X-API-Key` auth, one `X-Idempotency-Key` per
 * logical POST (reused on every retry of it), and the SDK's retry policy (tinker-protocol.md
 * section 1.2): connection errors, 408, 409, 429 and 5xx are retried with exponential backoff that
 * honours `retry-after(-ms)`; 400, 401, 403, 404, 422 fail at once with the server's message.
 */
import { randomUUID } from 'node:crypto';
import { RemoteError } from '../../errors.js';

/** Retry policy of the transport. */
export interface RetryPolicy {
  /** Attempts in all, the first one included. */
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

/** Sends JSON requests to a Tinker server with retries. */
export class TinkerTransport {
  readonly baseUrl: string;
  private apiKey: string | undefined;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  /** Counts of retried attempts by cause, for tests and logs. */
  readonly retries: Record<string, number> = {};

  constructor(options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 60_000;
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
    if (Number.isFinite(afterSeconds) && afterSeconds > 0) return Math.min(afterSeconds * 1000, this.retry.maxDelayMs * 6);
    return Math.min(this.retry.maxDelayMs, this.retry.initialDelayMs * 2 ** attempt);
  }

  /** POSTs `body` to `path` (relative to the base URL) and returns the final answer. */
  post(path: string, body: unknown, options: CallOptions = {}): Promise<HttpAnswer> {
    return this.call('POST', path, body, { ...options, idempotencyKey: options.idempotencyKey ?? this.newIdempotencyKey() });
  }

  /** GETs `path`. */
  get(path: string, options: CallOptions = {}): Promise<HttpAnswer> {
    return this.call('GET', path, undefined, options);
  }

  /** POSTs and returns the body of a 2xx answer; throws `RemoteError` naming the endpoint otherwise. */
  async postOk<T>(path: string, body: unknown, options: CallOptions = {}): Promise<T> {
    const answer = await this.post(path, body, options);
    if (answer.status < 200 || answer.status >= 300) {
      throw new RemoteError(`POST ${path} failed with HTTP ${answer.status}: ${errorDetail(answer.body)}`, answer.status);
    }
    return answer.body as T;
  }

  /** GETs and returns the body of a 2xx answer. */
  async getOk<T>(path: string): Promise<T> {
    const answer = await this.get(path);
    if (answer.status < 200 || answer.status >= 300) {
      throw new RemoteError(`GET ${path} failed with HTTP ${answer.status}: ${errorDetail(answer.body)}`, answer.status);
    }
    return answer.body as T;
  }

  private async call(method: string, path: string, body: unknown, options: CallOptions): Promise<HttpAnswer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey) headers['x-api-key'] = this.apiKey;
    Object.assign(headers, options.headers);
    if (options.idempotencyKey) headers['x-idempotency-key'] = options.idempotencyKey;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const retryStatuses = options.retryStatuses ?? true;
    let lastError = '';
    for (let attempt = 0; attempt < this.retry.maxAttempts; attempt++) {
      let answer: HttpAnswer;
      try {
        const response = await fetch(this.baseUrl + path, {
          method,
          headers,
          body: payload,
          signal: AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs),
        });
        const text = await response.text();
        answer = { status: response.status, body: parseBody(text), headers: response.headers };
      } catch (error) {
        lastError = connectionErrorText(error);
        this.count('connection');
        await sleep(this.backoffMs(attempt));
        continue;
      }
      if (retryStatuses && RETRIED(answer.status)) {
        lastError = `HTTP ${answer.status}: ${errorDetail(answer.body)}`;
        this.count(String(answer.status >= 500 ? '5xx' : answer.status));
        await sleep(this.backoffMs(attempt, answer.headers));
        continue;
      }
      return answer;
    }
    throw new RemoteError(`${method} ${this.baseUrl}${path} failed after ${this.retry.maxAttempts} attempts; last error: ${lastError}`);
  }

  private count(cause: string): void {
    this.retries[cause] = (this.retries[cause] ?? 0) + 1;
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
