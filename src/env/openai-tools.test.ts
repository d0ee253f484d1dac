import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { createMcpTestServer, startMcpHttpTestServer, type McpHttpTestServer } from '../testing/mcp-test-server.js';
import { mcpTools, type McpTools } from './mcp-tools.js';
import { executeToolCall, openAiTools } from './openai-tools.js';
import { defineTool } from './tool.js';
import { toolJsonSchema } from './tool-schema.js';

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers.',
  parameters: z.object({ a: z.number().describe('First'), b: z.number().describe('Second') }),
  execute: ({ a, b }) => String(a + b),
});
const stall = defineTool({
  name: 'stall',
  description: 'Never answers.',
  parameters: z.object({}),
  execute: () => new Promise<string>(() => undefined),
});

let http: McpHttpTestServer;
let mcp: McpTools;
beforeAll(async () => {
  http = await startMcpHttpTestServer({ create: () => createMcpTestServer() });
  mcp = await mcpTools({ server: { url: http.url } });
});
afterAll(async () => {
  await mcp?.close();
  await http?.close();
});

describe('openAiTools', () => {
  it('gives each tool as an OpenAI function with its JSON Schema as parameters', () => {
    const tools: ChatCompletionTool[] = openAiTools([add, ...mcp]);
    expect(tools[0]).toEqual({
      type: 'function',
      function: { name: 'add', description: 'Adds two numbers.', parameters: toolJsonSchema(add) },
    });
    const echo = mcp.find((tool) => tool.name === 'echo')!;
    expect(tools.find((tool) => tool.type === 'function' && tool.function.name === 'echo')).toEqual({
      type: 'function',
      function: { name: 'echo', description: 'Repeats a text.', parameters: toolJsonSchema(echo) },
    });
  });

  it('refuses two tools with one name', () => {
    expect(() => openAiTools([add, add])).toThrow(
      new ConfigError("openAiTools: two tools are named 'add'; tool names must be unique"),
    );
  });
});

describe('executeToolCall', () => {
  it('runs a call with JSON-string or object arguments', async () => {
    expect(await executeToolCall([add], { name: 'add', arguments: '{"a": 2, "b": 3}' })).toEqual({ output: '5' });
    expect(await executeToolCall([add], { name: 'add', arguments: { a: 1, b: 1 } })).toEqual({ output: '2' });
    expect(await executeToolCall(mcp, { name: 'echo', arguments: '{"text": "via MCP", "times": 2}' })).toEqual({
      output: 'via MCP via MCP',
    });
    expect(await executeToolCall(mcp, { name: 'stats', arguments: '' })).toMatchObject({
      output: expect.stringContaining('"calls"'),
    });
  });

  it('returns every failure as an Error: result', async () => {
    const cases: [Parameters<typeof executeToolCall>[1], string][] = [
      [{ name: 'subtract', arguments: '{}' }, "Error: Unknown tool 'subtract'"],
      [{ name: 'add', arguments: '{"a": 2,' }, "Error: the arguments of 'add' are not valid JSON"],
      [{ name: 'add', arguments: '[2, 3]' }, "Error: the arguments of 'add' must be a JSON object, got list"],
      [
        { name: 'add', arguments: { a: 2 } },
        "Error: Invalid arguments for 'add': b: Invalid input: expected number, received undefined",
      ],
      [{ name: 'echo', arguments: { text: 7 } }, "Error: Invalid arguments for 'echo': text: must be string"],
      [{ name: 'fail', arguments: { reason: 'busy' } }, 'Error: cannot comply: busy'],
    ];
    for (const [call, output] of cases)
      expect(await executeToolCall([add, ...mcp], call)).toEqual({ output, failure: output });
    expect((await executeToolCall([stall], { name: 'stall', arguments: '{}' }, { timeoutMs: 50 })).output).toBe(
      "Error: Tool 'stall' timed out after 50 ms",
    );
  });
});

describe('an agent written with the OpenAI SDK', () => {
  let chat: Server;
  const requests: { tools?: unknown; messages: ChatCompletionMessageParam[] }[] = [];

  // A scripted chat completions endpoint: first a tool call, then an answer quoting the tool message.
  beforeAll(async () => {
    chat = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const parsed = JSON.parse(body) as (typeof requests)[number];
        requests.push(parsed);
        const last = parsed.messages.at(-1)!;
        const message =
          last.role === 'tool'
            ? { role: 'assistant', content: `The tool said: ${String(last.content)}` }
            : {
                role: 'assistant',
                content: null,
                tool_calls: [
                  {
                    id: 'call_1',
                    type: 'function',
                    function: { name: 'echo', arguments: '{"text": "hi", "times": 3}' },
                  },
                ],
              };
        const finish = last.role === 'tool' ? 'stop' : 'tool_calls';
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            id: 'c',
            object: 'chat.completion',
            created: 0,
            model: 'm',
            choices: [{ index: 0, message, finish_reason: finish }],
          }),
        );
      });
    });
    await new Promise<void>((resolve) => chat.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => chat.close(() => resolve())));

  it('offers the MCP tools and sends their results back as tool messages', async () => {
    const client = new OpenAI({
      baseURL: `http://127.0.0.1:${(chat.address() as AddressInfo).port}/v1`,
      apiKey: 'test',
    });
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Say hi three times.' }];
    for (let step = 0; step < 4; step++) {
      const completion = await client.chat.completions.create({ model: 'm', messages, tools: openAiTools(mcp) });
      const message = completion.choices[0]!.message;
      messages.push(message);
      if (!message.tool_calls?.length) break;
      for (const toolCall of message.tool_calls) {
        if (toolCall.type !== 'function') continue;
        const run = await executeToolCall(mcp, toolCall.function);
        messages.push({ role: 'tool', tool_call_id: toolCall.id, content: run.output });
      }
    }
    expect(requests[0]!.tools).toEqual(openAiTools(mcp));
    expect(messages.at(-2)).toEqual({ role: 'tool', tool_call_id: 'call_1', content: 'hi hi hi' });
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', content: 'The tool said: hi hi hi' });
  });
});
