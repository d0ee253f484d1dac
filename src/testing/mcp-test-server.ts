/**
 * TEST DOUBLES for the MCP tools: real MCP servers built with the official SDK. `createMcpTestServer`
 * is an `McpServer` with tools that echo, fail (`isError`), sleep (honouring cancellation), return
 * media, report their counters, and, when started as a child process, crash mid-call;
 * `mcp-stdio-server.ts` runs it over stdio (`mcpStdioTestServer()` gives the command) and
 * `startMcpHttpTestServer` serves any server over streamable HTTP on 127.0.0.1 with an ephemeral
 * port. `createListingMcpServer` is a low-level `Server` that lists hand-written tools page by page.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { McpStdioServer } from '../env/mcp-connection.js';

/** Counters of a test server's `slow` tool, shared by every session of one server. */
export interface McpTestServerState {
  calls: number;
  inFlight: number;
  peakInFlight: number;
  cancelled: number;
}

/** A fresh state with every counter at zero. */
export function mcpTestServerState(): McpTestServerState {
  return { calls: 0, inFlight: 0, peakInFlight: 0, cancelled: 0 };
}

/** 1x1 transparent PNG. */
const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

/** The test server: `echo`, `fail`, `slow`, `media`, `stats`, and `crash` when `crashable`. */
export function createMcpTestServer(options: { state?: McpTestServerState; crashable?: boolean } = {}): McpServer {
  const state = options.state ?? mcpTestServerState();
  const server = new McpServer({ name: 'turnwise-test', version: '1.0.0' });
  const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });

  server.registerTool(
    'echo',
    {
      description: 'Repeats a text.',
      inputSchema: {
        text: z.string().describe('The text to repeat'),
        times: z.number().int().min(1).max(5).default(1).describe('How many times'),
      },
    },
    ({ text: value, times }) => text(Array.from({ length: times }, () => value).join(' ')),
  );
  server.registerTool(
    'fail',
    { description: 'Always fails.', inputSchema: { reason: z.string().describe('Why it fails') } },
    ({ reason }) => {
      throw new Error(`cannot comply: ${reason}`);
    },
  );
  server.registerTool(
    'slow',
    {
      description: 'Sleeps, then says so.',
      inputSchema: { ms: z.number().int().min(0).max(60_000).describe('Milliseconds to sleep') },
    },
    async ({ ms }, extra) => {
      state.calls++;
      state.inFlight++;
      state.peakInFlight = Math.max(state.peakInFlight, state.inFlight);
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          extra.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            state.cancelled++;
            reject(new Error('cancelled'));
          });
        });
      } finally {
        state.inFlight--;
      }
      return text(`slept ${ms} ms`);
    },
  );
  server.registerTool('media', { description: 'Returns one block of each kind.' }, () => ({
    content: [
      { type: 'text' as const, text: 'A chart:' },
      { type: 'image' as const, data: PNG_BASE64, mimeType: 'image/png' },
      { type: 'audio' as const, data: 'AAAA', mimeType: 'audio/wav' },
      {
        type: 'resource_link' as const,
        uri: 'file:///data/report.csv',
        name: 'report.csv',
        mimeType: 'text/csv',
        description: 'The full table',
      },
      {
        type: 'resource' as const,
        resource: { uri: 'file:///notes.txt', mimeType: 'text/plain', text: 'Remember the milk.' },
      },
      { type: 'resource' as const, resource: { uri: 'file:///blob.bin', blob: 'AAECAw==' } },
    ],
  }));
  server.registerTool('stats', { description: 'Reports the counters of the slow tool.' }, () =>
    text(JSON.stringify(state)),
  );
  if (options.crashable === true) {
    server.registerTool('crash', { description: 'Kills the server mid-call.' }, () => {
      process.stderr.write('mcp test server: crashing on purpose\n');
      process.exit(3);
    });
  }
  return server;
}

/** How to start `mcp-stdio-server.ts` as a child process (through tsx; stderr not echoed). */
export function mcpStdioTestServer(extra: Partial<McpStdioServer> = {}): McpStdioServer {
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const script = fileURLToPath(new URL('./mcp-stdio-server.ts', import.meta.url));
  return { command: process.execPath, args: ['--import', loader, script], stderr: 'ignore', ...extra };
}

/** A running streamable HTTP test server. */
export interface McpHttpTestServer {
  url: string;
  /** Sessions opened so far. */
  sessions: number;
  /** Sessions the client ended with DELETE. */
  terminated: number;
  /** Stops listening and drops every connection (a server that dies). */
  close(): Promise<void>;
}

/**
 * Serves MCP servers over streamable HTTP on 127.0.0.1 (ephemeral port),
 * one per session; `requiredHeaders` must match or the answer is 401.
 */
export async function startMcpHttpTestServer(options: {
  create: () => McpServer | Server;
  requiredHeaders?: Record<string, string>;
}): Promise<McpHttpTestServer> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const info = { sessions: 0, terminated: 0 };
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    for (const [name, value] of Object.entries(options.requiredHeaders ?? {})) {
      if (request.headers[name.toLowerCase()] !== value) {
        response
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: `missing or wrong ${name} header` }));
        return;
      }
    }
    const sessionId = request.headers['mcp-session-id'];
    let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (transport === undefined && sessionId !== undefined) {
      response.writeHead(404).end('unknown session');
      return;
    }
    if (transport === undefined) {
      const fresh = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          transports.set(id, fresh);
          info.sessions++;
        },
        onsessionclosed: (id) => {
          transports.delete(id);
          info.terminated++;
        },
      });
      await options.create().connect(fresh);
      transport = fresh;
    }
    await transport.handleRequest(request, response);
  };
  const http = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    get sessions() {
      return info.sessions;
    },
    get terminated() {
      return info.terminated;
    },
    async close() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await Promise.all([...transports.values()].map((transport) => transport.close()));
    },
  };
}

/** A tool as a server lists it (raw JSON). */
export type ListedMcpTool = { name: string; description?: string; inputSchema: Record<string, unknown> } & Record<
  string,
  unknown
>;

/**
 * A low-level server listing `tools` `pageSize` at a time (or, with `repeatCursor`, the same cursor
 * forever); a call answers with its name and arguments as JSON, except that `protocol_error` gets
 * a JSON-RPC error.
 */
export function createListingMcpServer(options: {
  tools: ListedMcpTool[];
  pageSize: number;
  repeatCursor?: boolean;
}): Server {
  const server = new Server({ name: 'turnwise-listing-test', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, (request) => {
    const start = request.params?.cursor === undefined ? 0 : Number(request.params.cursor);
    const end = start + options.pageSize;
    const nextCursor = options.repeatCursor === true ? '1' : end < options.tools.length ? String(end) : undefined;
    return { tools: options.tools.slice(start, end), ...(nextCursor !== undefined && { nextCursor }) };
  });
  server.setRequestHandler(CallToolRequestSchema, (request) => {
    if (request.params.name === 'protocol_error') throw new McpError(ErrorCode.InternalError, 'database is down');
    return {
      content: [
        {
          type: 'text',
          text: JSON.stringify({ name: request.params.name, arguments: request.params.arguments ?? {} }),
        },
      ],
    };
  });
  return server;
}
