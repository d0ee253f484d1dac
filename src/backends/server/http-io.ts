/**
 * Small HTTP helpers of the server (node:http, no framework): reading a JSON body under a size
 * limit, answering JSON, and `HttpError`, the one way a handler refuses a request with a status
 * and a message that names what was wrong.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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

/** Reads the whole body as UTF-8 text, refusing more than `maxBytes` with 413. */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<string> {
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
      if (!failed) resolve(Buffer.concat(parts).toString('utf8'));
    });
    request.on('error', (error) => {
      if (!failed) reject(new HttpError(400, `could not read the request body: ${error.message}`));
    });
  });
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
