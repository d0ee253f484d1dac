import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../../env/run-tool.js';
import { createRemoteRetrieverTool } from './remote-retriever-tool.js';

let server: Server;
let base: string;
const requests: unknown[] = [];

async function readBody(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) body += chunk;
  return body;
}

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const body = await readBody(request);
    requests.push(JSON.parse(body));
    const send = (status: number, text: string) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(text);
    };
    switch (request.url) {
      case '/ok':
        return send(
          200,
          JSON.stringify({
            results: [
              { title: 'Zugspitze', text: 'The Zugspitze is the highest peak of Germany.', score: 12.5 },
              { title: 'Alps', text: 'The Alps are a mountain range.', score: 3 },
            ],
          }),
        );
      case '/search-r1':
        return send(
          200,
          JSON.stringify({
            result: [
              [
                {
                  document: { id: '7', contents: '"Zugspitze"\nThe Zugspitze is the highest peak of Germany.' },
                  score: 0.9,
                },
              ],
            ],
          }),
        );
      case '/empty':
        return send(200, JSON.stringify({ results: [] }));
      case '/fail':
        return send(503, 'index is loading');
      case '/bad-json':
        return send(200, '{"results": [');
      case '/wrong-shape':
        return send(200, JSON.stringify({ hits: ['Zugspitze'] }));
      case '/slow':
        setTimeout(() => send(200, JSON.stringify({ results: [] })), 2000);
        return;
      default:
        return send(404, 'not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const call = (url: string, query = 'highest point Germany', extra: Record<string, unknown> = {}) =>
  runTool(
    createRemoteRetrieverTool({ url, timeoutMs: 5000, ...extra }),
    { name: 'wiki_search', arguments: { query } },
    { timeoutMs: 10_000, row: {} },
  );

describe('createRemoteRetrieverTool', () => {
  it('posts the query as JSON and shows the ranked passages with titles', async () => {
    const result = await call(`${base}/ok`, 'highest point Germany', { k: 2 });
    expect(result.output).toBe(
      'Zugspitze\nThe Zugspitze is the highest peak of Germany.\n\nAlps\nThe Alps are a mountain range.',
    );
    expect(requests.at(-1)).toEqual({ query: 'highest point Germany', k: 2 });
  });

  it('speaks the Search-R1 retrieval server format', async () => {
    const result = await call(`${base}/search-r1`, 'Zugspitze', { protocol: 'search-r1' });
    expect(result.output).toBe('Zugspitze\nThe Zugspitze is the highest peak of Germany.');
    expect(requests.at(-1)).toEqual({ queries: ['Zugspitze'], topk: 3, return_scores: true });
  });

  it('cuts the passages to the budget', async () => {
    const result = await call(`${base}/ok`, 'Germany', { maxCharacters: 60 });
    expect(result.output.length).toBeLessThanOrEqual(60);
    expect(result.output.startsWith('Zugspitze\nThe Zugspitze')).toBe(true);
  });

  it('answers an empty result list with the empty message', async () => {
    expect((await call(`${base}/empty`)).output).toBe('No relevant content found.');
  });

  it('turns HTTP errors, bad JSON, wrong shapes, timeouts and unreachable servers into Error: results', async () => {
    expect((await call(`${base}/fail`)).output).toBe('Error: retriever returned HTTP 503: index is loading');
    expect((await call(`${base}/bad-json`)).output).toMatch(/^Error: retriever returned invalid JSON/);
    expect((await call(`${base}/wrong-shape`)).output).toMatch(/^Error: retriever response has the wrong shape/);
    expect((await call(`${base}/slow`, 'q', { timeoutMs: 300 })).output).toMatch(
      /^Error: retriever at .* did not answer within 300 ms/,
    );
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect((await call(`http://127.0.0.1:${port}/`)).output).toMatch(
      /^Error: retriever at .* unreachable \(ECONNREFUSED\)/,
    );
  });
});
