import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, RemoteError } from '../errors.js';
import {
  createListingMcpServer,
  createMcpTestServer,
  startMcpHttpTestServer,
  type ListedMcpTool,
  type McpHttpTestServer,
} from '../testing/mcp-test-server.js';
import { mcpTools, type McpTools } from './mcp-tools.js';
import { runTool } from './run-tool.js';
import { toolArguments, toolJsonSchema } from './tool-schema.js';

// Keys in an unusual order, a draft-07 `$schema` and a closed object: all must reach the prompt as written.
const WEATHER_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  additionalProperties: false,
  required: ['city'],
  properties: { units: { enum: ['C', 'F'], default: 'C' }, city: { description: 'City name', type: 'string' } },
  type: 'object',
};
const LISTED: ListedMcpTool[] = [
  { name: 'weather.now', description: 'Current weather.', inputSchema: WEATHER_SCHEMA },
  {
    name: 'files/read',
    title: 'Read a file',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
  { name: 'noop', inputSchema: { type: 'object' } },
  { name: 'protocol_error', description: 'Fails at the protocol level.', inputSchema: { type: 'object' } },
  { name: 'last', description: 'On the last page.', inputSchema: { type: 'object', properties: {} } },
];

const servers: McpHttpTestServer[] = [];
const opened: McpTools[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((tools) => tools.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function listingServer(
  tools: ListedMcpTool[],
  options: { pageSize?: number; repeatCursor?: boolean } = {},
): Promise<McpHttpTestServer> {
  const server = await startMcpHttpTestServer({
    create: () =>
      createListingMcpServer({ tools, pageSize: options.pageSize ?? 2, repeatCursor: options.repeatCursor }),
  });
  servers.push(server);
  return server;
}

async function open(options: Parameters<typeof mcpTools>[0]): Promise<McpTools> {
  const tools = await mcpTools(options);
  opened.push(tools);
  return tools;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const call = (tools: McpTools, name: string, args: Record<string, unknown>, timeoutMs = 10_000) =>
  runTool(tools.find((tool) => tool.name === name)!, { name, arguments: args }, { timeoutMs, row: {} });

describe('MCP tools: listing', () => {
  it('lists every page and keeps each JSON Schema exactly as the server wrote it', async () => {
    const server = await listingServer(LISTED);
    const tools = await open({ server: { url: server.url }, prefix: 'web_' });
    expect(tools.map((tool) => tool.name)).toEqual([
      'web_weather_now',
      'web_files_read',
      'web_noop',
      'web_protocol_error',
      'web_last',
    ]);
    expect(JSON.stringify(toolJsonSchema(tools[0]!))).toBe(JSON.stringify(WEATHER_SCHEMA));
    expect(toolArguments(tools[0]!).map((argument) => argument.name)).toEqual(['units', 'city']);
    expect(tools.map((tool) => tool.description)).toEqual([
      'Current weather.',
      'Read a file',
      '',
      'Fails at the protocol level.',
      'On the last page.',
    ]);
  });

  it('calls the server under its own tool name and validates against its schema first', async () => {
    const tools = await open({ server: { url: (await listingServer(LISTED)).url }, prefix: 'web_' });
    expect((await call(tools, 'web_weather_now', { city: 'Oslo' })).output).toBe(
      '{"name":"weather.now","arguments":{"city":"Oslo"}}',
    );
    expect((await call(tools, 'web_files_read', { path: '/etc/hosts' })).output).toBe(
      '{"name":"files/read","arguments":{"path":"/etc/hosts"}}',
    );
    expect((await call(tools, 'web_weather_now', { city: 'Oslo', wind: true })).output).toBe(
      "Error: Invalid arguments for 'web_weather_now': unexpected argument 'wind'",
    );
    expect((await call(tools, 'web_weather_now', { units: 'K' })).output).toBe(
      `Error: Invalid arguments for 'web_weather_now': city: ` +
        `required argument is missing; units: must be one of "C", "F"`,
    );
  });

  it('returns a protocol error as an Error: result', async () => {
    const tools = await open({ server: { url: (await listingServer(LISTED)).url } });
    expect(await call(tools, 'protocol_error', {})).toEqual({
      output: 'Error: MCP error -32603: database is down',
      failure: 'Error: MCP error -32603: database is down',
    });
  });

  it('offers only the included tools, and names the ones the server lacks', async () => {
    const server = await listingServer(LISTED);
    const tools = await open({ server: { url: server.url }, include: ['noop', 'weather.now'] });
    expect(tools.map((tool) => tool.name)).toEqual(['noop', 'weather_now']);
    const error = await rejection(mcpTools({ server: { url: server.url }, include: ['noop', 'search'] }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      `mcpTools: MCP server '${server.url}' has no tool 'search' (it ` +
        `has 'weather.now', 'files/read', 'noop', 'protocol_error', 'last')`,
    );
  });

  it('refuses a hostile listing in one line and ends the session', async () => {
    const cases: [ListedMcpTool[], { repeatCursor?: boolean }, typeof ConfigError | typeof RemoteError, RegExp][] = [
      [LISTED, { repeatCursor: true }, RemoteError, /: tools\/list returned the cursor "1" twice$/],
      [
        [{ name: 'bad', inputSchema: { type: 'object', properties: { q: { type: 'strng' } } } }],
        {},
        ConfigError,
        new RegExp(
          /^mcpTools: tool 'bad' of MCP server '.*': invalid JSON Schema /.source +
            /\(schema is invalid: data\/properties\/q\/type must be equal to one of the allowed values/.source,
        ),
      ],
      [
        [{ name: 'bad', inputSchema: { type: 'string' } }],
        {},
        RemoteError,
        /: tool "bad" is not a valid MCP tool \(inputSchema\.type: .*\)$/,
      ],
      [
        [
          { name: 'a.b', inputSchema: { type: 'object' } },
          { name: 'a_b', inputSchema: { type: 'object' } },
        ],
        {},
        ConfigError,
        /are both named 'a_b' once made valid tool names; pass include to leave one out$/,
      ],
    ];
    for (const [listed, options, kind, message] of cases) {
      const server = await listingServer(listed, options);
      const error = await rejection(mcpTools({ server: { url: server.url } }));
      expect(error).toBeInstanceOf(kind);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('\n');
      expect(server.terminated).toBe(1);
    }
  });
});

describe('MCP tools over streamable HTTP', () => {
  it('sends the given headers with every request', async () => {
    const server = await startMcpHttpTestServer({
      create: () => createMcpTestServer(),
      requiredHeaders: { Authorization: 'Bearer s3cret' },
    });
    servers.push(server);
    const refused = await rejection(mcpTools({ server: { url: server.url } }));
    expect(refused).toBeInstanceOf(RemoteError);
    expect(refused.message).toMatch(
      new RegExp(
        `^MCP server '${server.url}': cannot connect \\(HTTP 401: .*missing or wrong Authorization header.*\\)$`,
      ),
    );
    const tools = await open({ server: { url: server.url, headers: { Authorization: 'Bearer s3cret' } } });
    expect((await call(tools, 'echo', { text: 'authorised' })).output).toBe('authorised');
  });

  it('close() ends the session on the server', async () => {
    const server = await startMcpHttpTestServer({ create: () => createMcpTestServer() });
    servers.push(server);
    const tools = await mcpTools({ server: { url: server.url } });
    expect(server.sessions).toBe(1);
    await tools.close();
    expect(server.terminated).toBe(1);
    expect((await call(tools, 'echo', { text: 'x' })).output).toBe("Error: MCP server 'turnwise-test' is closed");
  });

  it('returns an Error: result when the server dies mid-call (at the timeout), and for calls after it', async () => {
    const server = await startMcpHttpTestServer({ create: () => createMcpTestServer() });
    const tools = await open({ server: { url: server.url } });
    const inFlight = call(tools, 'slow', { ms: 20_000 }, 1500);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await server.close();
    expect((await inFlight).output).toBe("Error: Tool 'slow' timed out after 1500 ms");
    expect((await call(tools, 'echo', { text: 'x' }, 5000)).output).toMatch(
      /^Error: MCP server 'turnwise-test': fetch failed \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/,
    );
  });
});
