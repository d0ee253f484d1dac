/**
 * The tools of an MCP server as turnwise tools: `await mcpTools({ server })` connects (stdio or
 * streamable HTTP), lists every page of the server's tools and returns them as `Tool`s whose
 * parameters are the server's JSON Schemas exactly as listed (validated before each call), ready
 * for `ToolEnv` or, through `openAiTools`/`executeToolCall`, for an agent of one's own. A call's
 * content becomes the text the model sees (`mcp-result.ts`); an `isError` result, a protocol error,
 * a dead server and a timeout all become `Error: ...` results. The list carries `close()`.
 */
import { z } from 'zod';
import { ToolSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ConcurrencyLimit } from '../concurrency-limit.js';
import { ConfigError, RemoteError, ToolError, errorMessage } from '../errors.js';
import { jsonSchemaParameters } from './json-schema-parameters.js';
import { McpConnection, type McpServerOptions } from './mcp-connection.js';
import { mcpResultText } from './mcp-result.js';
import { defineTool, type Tool } from './tool.js';

/** Options of `mcpTools`. */
export interface McpToolsOptions {
  server: McpServerOptions;
  /** Put before every tool name (e.g. `fs_`), to keep the tools of several servers apart. */
  prefix?: string;
  /** The server's tool names to offer (default: all); a name the server lacks is an error. */
  include?: string[];
  /** Milliseconds before a call is abandoned and cancelled (default: the env's tool timeout). */
  timeoutMs?: number;
  /** Most calls in flight on the server at once (default: no bound; the SDK client multiplexes them). */
  maxConcurrentCalls?: number;
  /** Milliseconds the server has to answer initialisation and each page of its tool list (default 30 000). */
  connectTimeoutMs?: number;
}

/** The tools of one MCP server, and the way to end the connection. */
export type McpTools = Tool<Record<string, unknown>>[] & {
  /** Ends the session or child process; calls after it return `Error:` results. */
  close(): Promise<void>;
  /** The underlying connection (its `pid` and `label`, for logs and tests). */
  readonly connection: McpConnection;
};

// The SDK's own request timeout must not cut a call before turnwise's tool timeout does.
const SDK_CALL_TIMEOUT_MS = 24 * 3600 * 1000;
const MAX_PAGES = 1000;
// Listing reads each tool raw, so its inputSchema is the server's JSON with its own key order
// (the SDK's listTools would re-serialise it, and fails outright on one unusable outputSchema).
const RAW_PAGE = z.object({ tools: z.array(z.unknown()), nextCursor: z.string().optional() });
type ListedTool = {
  name: string;
  description?: string | undefined;
  title?: string | undefined;
  inputSchema: Record<string, unknown>;
};

/** Connects to an MCP server and returns its tools; throws a one-line error if it cannot. */
export async function mcpTools(options: McpToolsOptions): Promise<McpTools> {
  const connectTimeoutMs = checkPositive('connectTimeoutMs', options.connectTimeoutMs ?? 30_000);
  if (options.timeoutMs !== undefined) checkPositive('timeoutMs', options.timeoutMs);
  const limit =
    options.maxConcurrentCalls === undefined
      ? undefined
      : new ConcurrencyLimit(checkPositive('maxConcurrentCalls', options.maxConcurrentCalls));
  if (
    options.include !== undefined &&
    (!Array.isArray(options.include) || options.include.some((name) => typeof name !== 'string'))
  ) {
    throw new ConfigError(`mcpTools: include must be an array of tool names, got ${JSON.stringify(options.include)}`);
  }
  const prefix = options.prefix ?? '';
  if (typeof prefix !== 'string' || /[^A-Za-z0-9_-]/.test(prefix))
    throw new ConfigError(`mcpTools: prefix may hold only letters, digits, '_' and '-', got ${JSON.stringify(prefix)}`);

  const connection = new McpConnection(options.server, connectTimeoutMs);
  try {
    const listed = await listTools(connection, connectTimeoutMs);
    const tools = select(listed, options.include, connection.label).map((tool) =>
      toTurnwiseTool(tool, connection, prefix, options.timeoutMs, limit),
    );
    const names = new Set<string>();
    for (const tool of tools) {
      if (names.has(tool.name))
        throw new ConfigError(
          `mcpTools: two tools of MCP server ${connection.label} are both named ` +
            `'${tool.name}' once made valid tool names; pass include to leave one out`,
        );
      names.add(tool.name);
    }
    return Object.assign(tools, { close: () => connection.close(), connection });
  } catch (error) {
    await connection.close();
    throw error;
  }
}

async function listTools(connection: McpConnection, timeout: number): Promise<ListedTool[]> {
  const client = await connection.client();
  const tools: ListedTool[] = [];
  const cursors = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    let result: z.infer<typeof RAW_PAGE>;
    try {
      result = await client.request(
        { method: 'tools/list', params: cursor === undefined ? {} : { cursor } },
        RAW_PAGE,
        { timeout },
      );
    } catch (error) {
      throw new RemoteError(`MCP server ${connection.label}: listing its tools failed (${connection.describe(error)})`);
    }
    for (const raw of result.tools) tools.push(checkListedTool(raw, connection.label));
    cursor = result.nextCursor;
    if (cursor === undefined) return tools;
    if (cursors.has(cursor))
      throw new RemoteError(
        `MCP server ${connection.label}: tools/list returned the cursor ${JSON.stringify(cursor)} twice`,
      );
    cursors.add(cursor);
  }
  throw new RemoteError(`MCP server ${connection.label}: tools/list went on for more than ${MAX_PAGES} pages`);
}

function checkListedTool(raw: unknown, label: string): ListedTool {
  const parsed = ToolSchema.safeParse(raw);
  if (!parsed.success) {
    const name =
      typeof raw === 'object' && raw !== null
        ? JSON.stringify((raw as Record<string, unknown>)['name'])
        : JSON.stringify(raw);
    const issue = parsed.error.issues[0]!;
    throw new RemoteError(
      `MCP server ${label}: tool ${name} is not a valid MCP tool ` +
        `(${issue.path.join('.') || '(tool)'}: ${issue.message})`,
    );
  }
  return {
    name: parsed.data.name,
    description: parsed.data.description,
    title: parsed.data.title,
    inputSchema: (raw as { inputSchema: Record<string, unknown> }).inputSchema,
  };
}

function select(tools: ListedTool[], include: string[] | undefined, label: string): ListedTool[] {
  if (include === undefined) return tools;
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const missing = include.filter((name) => !byName.has(name));
  if (missing.length > 0) {
    throw new ConfigError(
      `mcpTools: MCP server ${label} has no tool ${missing.map((name) => `'${name}'`).join(', ')} ` +
        `(it has ${tools.map((tool) => `'${tool.name}'`).join(', ') || 'none'})`,
    );
  }
  return include.map((name) => byName.get(name)!);
}

/** A valid turnwise (and OpenAI function) name: characters outside [A-Za-z0-9_-] become '_'. */
function toolName(prefix: string, name: string): string {
  const safe = `${prefix}${name}`.replace(/[^A-Za-z0-9_-]/g, '_');
  return /^[A-Za-z_]/.test(safe) ? safe : `_${safe}`;
}

function toTurnwiseTool(
  listed: ListedTool,
  connection: McpConnection,
  prefix: string,
  timeoutMs: number | undefined,
  limit: ConcurrencyLimit | undefined,
): Tool<Record<string, unknown>> {
  const parameters = jsonSchemaParameters(listed.inputSchema, {
    label: `mcpTools: tool '${listed.name}' of MCP server ${connection.label}`,
  });
  const call = async (args: Record<string, unknown>, signal: AbortSignal): Promise<string> => {
    // A call that timed out while waiting for a slot is not sent at all.
    if (signal.aborted) throw new ToolError(`Tool '${listed.name}' was cancelled before it started`);
    const client = await connection.client().catch((error: unknown) => {
      throw new ToolError(errorMessage(error));
    });
    let result: CallToolResult;
    try {
      // The default result schema always yields `content` (the pre-2025 `toolResult` form is another schema).
      result = (await client.callTool({ name: listed.name, arguments: args }, undefined, {
        signal,
        timeout: SDK_CALL_TIMEOUT_MS,
      })) as CallToolResult;
    } catch (error) {
      throw new ToolError(connection.callFailure(error));
    }
    return mcpResultText(result);
  };
  return defineTool({
    name: toolName(prefix, listed.name),
    description: listed.description ?? listed.title ?? '',
    parameters,
    execute: (args, { signal }) => (limit === undefined ? call(args, signal) : limit.run(() => call(args, signal))),
    ...(timeoutMs !== undefined && { timeoutMs }),
  });
}

function checkPositive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigError(`mcpTools: ${name} must be a positive integer, got ${value}`);
  return value;
}
