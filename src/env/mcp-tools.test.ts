import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMcpTestServer,
  mcpStdioTestServer,
  mcpTestServerState,
  startMcpHttpTestServer,
} from '../testing/mcp-test-server.js';
import type { McpServerOptions } from './mcp-connection.js';
import { mcpTools, type McpTools } from './mcp-tools.js';
import { runTool } from './run-tool.js';
import { toolArguments, toolJsonSchema } from './tool-schema.js';

// The same behaviour over both transports, each against a real MCP server built with the SDK.
const TRANSPORTS: { name: string; start(): Promise<{ server: McpServerOptions; stop(): Promise<void> }> }[] = [
  { name: 'stdio', start: async () => ({ server: mcpStdioTestServer(), stop: async () => undefined }) },
  {
    name: 'streamable HTTP',
    start: async () => {
      const http = await startMcpHttpTestServer({ create: () => createMcpTestServer({ state: mcpTestServerState() }) });
      return { server: { url: http.url }, stop: () => http.close() };
    },
  },
];

describe.each(TRANSPORTS)('MCP tools over $name', ({ start }) => {
  let tools: McpTools;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    const started = await start();
    stop = started.stop;
    tools = await mcpTools({ server: started.server });
  });
  afterAll(async () => {
    await tools?.close();
    await stop?.();
  });

  const call = (name: string, args: Record<string, unknown>, timeoutMs = 10_000) =>
    runTool(tools.find((tool) => tool.name === name)!, { name, arguments: args }, { timeoutMs, row: {} });
  const stats = async () =>
    JSON.parse((await call('stats', {})).output) as { calls: number; peakInFlight: number; cancelled: number };

  it('lists the server tools with their descriptions and JSON Schemas', () => {
    expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['echo', 'fail', 'slow', 'media', 'stats']));
    const echo = tools.find((tool) => tool.name === 'echo')!;
    expect(echo.description).toBe('Repeats a text.');
    expect(toolJsonSchema(echo)).toMatchObject({
      type: 'object',
      properties: {
        text: { type: 'string', description: 'The text to repeat' },
        times: { type: 'integer', default: 1, minimum: 1, maximum: 5 },
      },
      required: ['text'],
    });
    expect(toolArguments(echo).map((argument) => [argument.name, argument.description, argument.defaultValue])).toEqual(
      [
        ['text', 'The text to repeat', undefined],
        ['times', 'How many times', 1],
      ],
    );
  });

  it('calls a tool and returns its text', async () => {
    expect(await call('echo', { text: 'hello', times: 2 })).toEqual({ output: 'hello hello' });
    expect(await call('echo', { text: 'once' })).toEqual({ output: 'once' });
  });

  it('refuses schema-invalid arguments before the call, as a result the model sees', async () => {
    const before = (await stats()).calls;
    const run = await call('slow', { ms: 'soon' });
    expect(run.output).toBe("Error: Invalid arguments for 'slow': ms: must be integer");
    expect(run.failure).toBe(run.output);
    expect((await call('echo', { text: 'x', times: 9, loud: true })).output).toBe(
      "Error: Invalid arguments for 'echo': times: must be <= 5",
    );
    expect((await stats()).calls).toBe(before);
  });

  it('returns a tool error (isError) as an Error: result', async () => {
    expect(await call('fail', { reason: 'no access' })).toEqual({
      output: 'Error: cannot comply: no access',
      failure: 'Error: cannot comply: no access',
    });
  });

  it('describes media and resources instead of dropping them', async () => {
    expect((await call('media', {})).output).toBe(
      [
        'A chart:',
        '[image: image/png, 68 bytes]',
        '[audio: audio/wav, 3 bytes]',
        '[resource link: report.csv <file:///data/report.csv> (text/csv; The full table)]',
        '[resource <file:///notes.txt>, text/plain]',
        'Remember the milk.',
        '[resource <file:///blob.bin>: binary, 4 bytes]',
      ].join('\n'),
    );
  });

  it('times a slow call out as an Error: result and cancels it on the server', async () => {
    const before = (await stats()).cancelled;
    const run = await call('slow', { ms: 20_000 }, 300);
    expect(run.output).toBe("Error: Tool 'slow' timed out after 300 ms");
    await expect.poll(async () => (await stats()).cancelled, { timeout: 5000 }).toBe(before + 1);
  });

  it('runs concurrent calls on one client, each getting its own result', async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, (_, index) => call('slow', { ms: 1000 + index })));
    expect(runs.map((run) => run.output)).toEqual(Array.from({ length: 8 }, (_, index) => `slept ${1000 + index} ms`));
    expect((await stats()).peakInFlight).toBe(8);
  });
});
