import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Random } from '../random.js';
import { ChatTemplateRenderer } from '../rollout/chat-template-renderer.js';
import { rolloutGroups } from '../rollout/group-rollout.js';
import { ScriptedPolicy, type ScriptCall } from '../rollout/scripted-policy.js';
import { ByteTokenizer } from '../testing/byte-tokenizer.js';
import {
  createMcpTestServer,
  mcpTestServerState,
  startMcpHttpTestServer,
  type McpHttpTestServer,
} from '../testing/mcp-test-server.js';
import { scriptedRollout } from '../testing/scripted-rollout.js';
import type { Trajectory } from '../types.js';
import { HermesFormat } from './hermes-format.js';
import { mcpTools, type McpTools } from './mcp-tools.js';
import { ToolEnv } from './tool-env.js';

const state = mcpTestServerState();
let http: McpHttpTestServer;
let tools: McpTools;

beforeAll(async () => {
  http = await startMcpHttpTestServer({ create: () => createMcpTestServer({ state }) });
  tools = await mcpTools({ server: { url: http.url } });
});
afterAll(async () => {
  await tools?.close();
  await http?.close();
});

/** Each rollout calls `slow` with its own duration (`ms` plus its index), then answers. */
function slowThenAnswer(ms: number) {
  return (call: ScriptCall): string =>
    call.turn === 0
      ? `<reasoning>\nwait\n</reasoning>\n<tool>\n{"name": "slow", "args": {"ms": ${ms + call.rollout}}}\n</tool>`
      : '<reasoning>\ndone\n</reasoning>\n<answer>\nok\n</answer>';
}

async function groupRollout(offered: McpTools, ms: number): Promise<Trajectory[]> {
  const tokenizer = new ByteTokenizer();
  const groups = await rolloutGroups({
    policy: new ScriptedPolicy({ tokenizer, reply: slowThenAnswer(ms) }),
    env: ToolEnv.factory({ tools: offered }),
    renderer: new ChatTemplateRenderer({ tokenizer }),
    rows: [
      { id: 'a', question: 'Wait?' },
      { id: 'b', question: 'Wait again?' },
    ],
    groupSize: 4,
    random: new Random(7),
  });
  return groups.flatMap((group) => group.trajectories);
}

function expectOwnResults(trajectories: Trajectory[]): void {
  expect(trajectories).toHaveLength(8);
  const durations = new Set<number>();
  for (const trajectory of trajectories) {
    const [first] = trajectory.turns;
    const ms = first!.toolCalls[0]!.arguments['ms'] as number;
    durations.add(ms);
    expect(first!.env).toEqual({ role: 'user', content: `<result>\nslept ${ms} ms\n</result>` });
    expect(first).toMatchObject({ isToolResult: true, toolFailed: false });
    expect(trajectory.stopReason).toBe('answered');
  }
  expect(durations.size).toBe(8);
}

describe('MCP tools in ToolEnv', () => {
  it('describes the tools in the paper XML prompt from their MCP schema', () => {
    const [system] = new ToolEnv({ tools }).reset({ question: 'Hi?' });
    expect(system!.content).toContain(
      'echo: Repeats a text.\n\nArguments:\n  - text: The text to repeat\n  - times: How many times (default: 1)',
    );
    expect(system!.content).toContain('slow: Sleeps, then says so.\n\nArguments:\n  - ms: Milliseconds to sleep');
  });

  it('gives the Hermes prompt each JSON Schema the server listed', async () => {
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
    const listed = (await client.listTools()).tools;
    await client.close();
    const [system] = new ToolEnv({ tools, format: new HermesFormat() }).reset({ question: 'Hi?' });
    const signatures = system!.content
      .split('<tools>\n')[1]!
      .split('\n</tools>')[0]!
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(signatures).toEqual(
      listed.map((tool) => ({
        type: 'function',
        function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
      })),
    );
  });

  it('runs a group rollout whose concurrent calls share one client, each rollout getting its own result', async () => {
    Object.assign(state, mcpTestServerState());
    expectOwnResults(await groupRollout(tools, 1000));
    expect(state).toMatchObject({ calls: 8, peakInFlight: 8 });
  });

  it('bounds the calls of a group rollout with maxConcurrentCalls', async () => {
    const bounded = await mcpTools({ server: { url: http.url }, maxConcurrentCalls: 2 });
    try {
      Object.assign(state, mcpTestServerState());
      expectOwnResults(await groupRollout(bounded, 200));
      expect(state).toMatchObject({ calls: 8, peakInFlight: 2 });
    } finally {
      await bounded.close();
    }
  });

  it('shows the model tool errors and refused arguments in the Hermes format', async () => {
    const call = (json: string) => `<tool_call>\n${json}\n</tool_call>`;
    const trajectory = await scriptedRollout({
      env: new ToolEnv({ tools, format: new HermesFormat(), maxToolCalls: 4 }),
      row: { question: 'Echo?' },
      replies: [
        call('{"name": "fail", "arguments": {"reason": "quota"}}'),
        call('{"name": "echo", "arguments": {"text": ["not", "a", "string"]}}'),
        call('{"name": "echo", "arguments": {"text": "fine", "times": 2}}'),
        '<answer>fine fine</answer>',
      ],
    });
    expect(trajectory.turns.map((turn) => [turn.env?.content, turn.toolFailed])).toEqual([
      ['<tool_response>\nError: cannot comply: quota\n</tool_response>', true],
      ["<tool_response>\nError: Invalid arguments for 'echo': text: must be string\n</tool_response>", true],
      ['<tool_response>\nfine fine\n</tool_response>', false],
      [undefined, false],
    ]);
    expect(trajectory.stopReason).toBe('answered');
  });
});
