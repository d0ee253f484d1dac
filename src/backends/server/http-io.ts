/**
 * Small HTTP helpers of the server (node:http, no framework): reading a body under a size limit
 * (and undoing `Content-Encoding: zstd` under the same limit), answering JSON, and `HttpError`, the
 * one way a handler refuses a request with a status and a message that names what was wrong.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Decompress } from 'fzstd';
import type { z } from 'zod';

/** A refusal with an HTTP status; the message is sent as `{"detail": message}`. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Reads the whole body, refusing more than `maxBytes` with 413. */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(
        new HttpError(
          413,
          `request body is ${declared} bytes, more than the server's limit of ${maxBytes} bytes; send smaller chunks`,
        ),
      );
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    let failed = false;
    request.on('data', (part: Buffer) => {
      if (failed) return;
      size += part.length;
      if (size > maxBytes) {
        failed = true;
        reject(new HttpError(413, `request body exceeds the server's limit of ${maxBytes} bytes; send smaller chunks`));
        return;
      }
      parts.push(part);
    });
    request.on('end', () => {
      if (!failed) resolve(Buffer.concat(parts));
    });
    request.on('error', (error) => {
      if (!failed) reject(new HttpError(400, `could not read the request body: ${error.message}`));
    });
  });
}

/**
 * Undoes the body's `Content-Encoding` (identity or zstd, as the Tinker SDK sends forward_backward),
 * refusing an output past `maxBytes` with 413 as soon as it is reached, so a small compressed body
 * cannot expand without bound.
 */
export function decodeBody(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  const name = (encoding ?? '').trim().toLowerCase();
  if (name === '' || name === 'identity') return body;
  if (name !== 'zstd')
    throw new HttpError(415, `Content-Encoding ${JSON.stringify(encoding)} is not supported; send identity or zstd`);
  const parts: Uint8Array[] = [];
  let size = 0;
  const tooLarge = new HttpError(
    413,
    `zstd request body expands past the server's limit of ${maxBytes} bytes; send smaller chunks`,
  );
  const stream = new Decompress((part) => {
    size += part.length;
    if (size > maxBytes) throw tooLarge;
    parts.push(part.slice());
  });
  try {
    stream.push(body, true);
  } catch (error) {
    if (error === tooLarge) throw error;
    throw new HttpError(400, `request body is not valid zstd: ${(error as Error).message}`);
  }
  return Buffer.concat(parts);
}

/** Parses JSON text, refusing invalid JSON with 400. */
export function parseJson(text: string): unknown {
  if (text.trim().length === 0) return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Validates a body against a schema, refusing it with 400 and every problem named. */
export function validate<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(body)'}: ${issue.message}`,
    );
    throw new HttpError(
      400,
      `invalid ${what} request: ${problems.slice(0, 8).join('; ')}` +
        `${problems.length > 8 ? `; and ${problems.length - 8} more` : ''}`,
    );
  }
  return result.data;
}

/** Sends a JSON answer. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}
