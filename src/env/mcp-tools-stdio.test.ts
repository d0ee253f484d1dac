import { describe, expect, it } from 'vitest';
import { ConfigError, RemoteError } from '../errors.js';
import { mcpStdioTestServer } from '../testing/mcp-test-server.js';
import { mcpTools, type McpTools } from './mcp-tools.js';
import { runTool } from './run-tool.js';

const call = (tools: McpTools, name: string, args: Record<string, unknown>, timeoutMs = 10_000) =>
  runTool(tools.find((tool) => tool.name === name)!, { name, arguments: args }, { timeoutMs, row: {} });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('MCP tools over stdio: a hostile server', () => {
  it('turns a crash mid-call into Error: results for every call in flight, then starts the server again', async () => {
    const tools = await mcpTools({ server: mcpStdioTestServer() });
    try {
      const firstPid = tools.connection.pid!;
      const inFlight = call(tools, 'slow', { ms: 20_000 });
      const crash = await call(tools, 'crash', {});
      expect(crash.output).toBe(
        "Error: MCP server 'turnwise-test' closed the connection during " +
          'the call (its stderr: mcp test server: crashing on purpose)',
      );
      expect((await inFlight).output).toMatch(
        /^Error: MCP server 'turnwise-test' closed the connection during the call/,
      );
      expect(alive(firstPid)).toBe(false);
      expect(await call(tools, 'echo', { text: 'back again' })).toEqual({ output: 'back again' });
      expect(tools.connection.pid).not.toBe(firstPid);
    } finally {
      await tools.close();
    }
  });

  it('close() ends the child process, even with a call in flight, and later calls return Error: results', async () => {
    const tools = await mcpTools({ server: mcpStdioTestServer() });
    const pid = tools.connection.pid!;
    expect(alive(pid)).toBe(true);
    const inFlight = call(tools, 'slow', { ms: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await tools.close();
    expect(alive(pid)).toBe(false);
    expect((await inFlight).output).toMatch(/^Error: MCP server 'turnwise-test' closed the connection during the call/);
    expect(await call(tools, 'echo', { text: 'x' })).toEqual({
      output: "Error: MCP server 'turnwise-test' is closed",
      failure: "Error: MCP server 'turnwise-test' is closed",
    });
    await tools.close();
  });

  it('bounds the calls in flight with maxConcurrentCalls', async () => {
    const tools = await mcpTools({ server: mcpStdioTestServer(), maxConcurrentCalls: 2 });
    try {
      const runs = await Promise.all(Array.from({ length: 6 }, () => call(tools, 'slow', { ms: 300 })));
      expect(runs.every((run) => run.output === 'slept 300 ms')).toBe(true);
      expect(JSON.parse((await call(tools, 'stats', {})).output)).toMatchObject({ calls: 6, peakInFlight: 2 });
    } finally {
      await tools.close();
    }
  });

  it('refuses a command that cannot start, in one line', async () => {
    const error = await rejection(mcpTools({ server: { command: 'turnwise-no-such-mcp-server' } }));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.message).toBe(
      "MCP server 'turnwise-no-such-mcp-server': cannot connect (spawn turnwise-no-such-mcp-server ENOENT)",
    );
  });

  it('refuses a server that exits at start, quoting its stderr', async () => {
    const script = "process.stderr.write('config file missing\\n'); process.exit(2)";
    const error = await rejection(
      mcpTools({ server: { command: process.execPath, args: ['-e', script], stderr: 'ignore' } }),
    );
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.message).toMatch(
      /: cannot connect \(MCP error -32000: Connection closed; server stderr: config file missing\)$/,
    );
    expect(error.message).not.toContain('\n');
  });

  it('gives up on a process that never answers, and kills it', async () => {
    const script = "process.stderr.write('pid ' + process.pid + '\\n'); setInterval(() => {}, 1000)";
    const error = await rejection(
      mcpTools({
        server: { command: process.execPath, args: ['-e', script], stderr: 'ignore' },
        connectTimeoutMs: 1500,
      }),
    );
    expect(error.message).toMatch(/: cannot connect \(MCP error -32001: Request timed out; server stderr: pid \d+\)$/);
    const pid = Number(/pid (\d+)\)$/.exec(error.message)![1]);
    await expect.poll(() => alive(pid), { timeout: 5000 }).toBe(false);
  });

  it('refuses bad options before starting anything', async () => {
    const cases: [Parameters<typeof mcpTools>[0], string][] = [
      [
        { server: {} as never },
        `mcpTools: server needs exactly one of 'command' (stdio) or 'url' (streamable HTTP), got keys []`,
      ],
      [{ server: { command: '' } }, 'mcpTools: server command must be a non-empty string, got ""'],
      [
        { server: { command: 'x', args: 'a b' as never } },
        'mcpTools: server args must be an array of strings, got "a b"',
      ],
      [{ server: { url: 'localhost:3000' } }, 'mcpTools: server url must be an http(s) URL, got "localhost:3000"'],
      [{ server: { command: 'x' }, timeoutMs: 0 }, 'mcpTools: timeoutMs must be a positive integer, got 0'],
      [
        { server: { command: 'x' }, maxConcurrentCalls: 1.5 },
        'mcpTools: maxConcurrentCalls must be a positive integer, got 1.5',
      ],
      [
        { server: { command: 'x' }, include: 'echo' as never },
        'mcpTools: include must be an array of tool names, got "echo"',
      ],
      [
        { server: { command: 'x' }, prefix: 'my tools.' },
        `mcpTools: prefix may hold only letters, digits, '_' and '-', got "my tools."`,
      ],
    ];
    for (const [options, message] of cases) {
      const error = await rejection(mcpTools(options));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(message);
    }
  });
});
