/**
 * Server-sent events for the streaming OpenAI routes: `data: <json>\n\n` per chunk and
 * `data: [DONE]` at the end. Headers are written with the first event, so a request that fails
 * before anything was sampled still gets an ordinary JSON error; a failure after that becomes a
 * final `data: {"error": ...}` event, as OpenAI's API sends.
 */
import type { ServerResponse } from 'node:http';

/** Writes one response's event stream. */
export class SseWriter {
  constructor(private readonly response: ServerResponse) {}

  /** True once the headers (and at least one event) were sent. */
  get started(): boolean {
    return this.response.headersSent;
  }

  /** Sends one event with `data` as JSON. */
  send(data: unknown): void {
    if (this.response.destroyed || this.response.writableEnded) return;
    if (!this.response.headersSent) {
      this.response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
    }
    this.response.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream with `data: [DONE]`. */
  done(): void {
    if (this.response.destroyed || this.response.writableEnded) return;
    if (!this.response.headersSent)
      this.response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    this.response.end('data: [DONE]\n\n');
  }

  /** Ends a started stream with an error event. */
  fail(error: { message: string; type: string; param: string | null; code: string | null }): void {
    if (this.response.destroyed || this.response.writableEnded) return;
    this.response.end(`data: ${JSON.stringify({ error })}\n\n`);
  }
}
