/**
 * One connection to an MCP server through the official SDK's `Client`: a child process spoken to
 * over stdio, or a streamable HTTP endpoint. The client multiplexes requests by id, so every
 * rollout's tool calls share it. A stdio server that dies is started again on the next request
 * (the calls in flight when it died fail); the last lines of its stderr go into error messages.
 * `close()` ends the session and waits until the child process is gone.
 */
import { createRequire } from 'node:module';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { ConfigError, RemoteError, ToolError, errorMessage } from '../errors.js';

/** An MCP server started as a child process and spoken to over stdin/stdout. */
export interface McpStdioServer {
  command: string;
  args?: string[];
  /** Added to the SDK's safe default environment (HOME, PATH, SHELL, TERM, USER, LOGNAME). */
  env?: Record<string, string>;
  cwd?: string;
  /**
   * The server's stderr: copied to this process's stderr (`inherit`, default)
   * or not (`ignore`); its last lines go into error messages either way.
   */
  stderr?: 'inherit' | 'ignore';
}

/** An MCP server reached over streamable HTTP. */
export interface McpHttpServer {
  url: string | URL;
  /** Sent with every request (e.g. `Authorization`). */
  headers?: Record<string, string>;
}

/** How to reach an MCP server. */
export type McpServerOptions = McpStdioServer | McpHttpServer;

const STDERR_TAIL_CHARS = 4096;
const EXIT_WAIT_MS = 5000;
const CLIENT_INFO = {
  name: 'turnwise',
  version: (createRequire(import.meta.url)('../../package.json') as { version: string }).version,
};

// The SDK's client side is loaded on first connection (it takes ~0.3 s), not by every `import 'turnwise'`.
interface ClientSdk {
  Client: typeof Client;
  StdioClientTransport: typeof StdioClientTransport;
  StreamableHTTPClientTransport: typeof StreamableHTTPClientTransport;
  StreamableHTTPError: typeof StreamableHTTPError;
}
let clientSdk: ClientSdk | undefined;
async function loadClientSdk(): Promise<ClientSdk> {
  const [client, stdio, http] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
  ]);
  clientSdk = {
    Client: client.Client,
    StdioClientTransport: stdio.StdioClientTransport,
    StreamableHTTPClientTransport: http.StreamableHTTPClientTransport,
    StreamableHTTPError: http.StreamableHTTPError,
  };
  return clientSdk;
}

/** A lazily (re)opened SDK client of one MCP server. */
export class McpConnection {
  /** Names the server in setup errors: its command line or URL. */
  readonly label: string;
  private serverName: string | undefined;
  private current: Promise<Client> | undefined;
  private transport: StdioClientTransport | StreamableHTTPClientTransport | undefined;
  private stderrTail = '';
  private closed = false;

  constructor(
    private readonly server: McpServerOptions,
    private readonly connectTimeoutMs: number,
  ) {
    this.label = checkServer(server);
  }

  /** Names the server in call errors: the name it gave at initialisation, else the label. */
  get name(): string {
    return this.serverName ?? this.label;
  }

  /** The connected client, connecting first (again, after the server died) when needed. */
  client(): Promise<Client> {
    if (this.closed) return Promise.reject(new ToolError(`MCP server ${this.name} is closed`));
    if (this.current === undefined) {
      const opening = this.open();
      this.current = opening;
      opening.catch(() => {
        if (this.current === opening) this.current = undefined;
      });
    }
    return this.current;
  }

  /** The pid of the running stdio server, if any. */
  get pid(): number | undefined {
    return 'url' in this.server ? undefined : ((this.transport as StdioClientTransport | undefined)?.pid ?? undefined);
  }

  /** The last line the stdio server wrote to stderr, for error messages ('' if none). */
  lastStderrLine(): string {
    const lines = this.stderrTail
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.length > 0);
    return (lines.at(-1) ?? '').slice(0, 300);
  }

  /** Ends the session (HTTP) or the child process (stdio); later requests fail. */
  async close(): Promise<void> {
    this.closed = true;
    const current = this.current;
    this.current = undefined;
    const client = await current?.catch(() => undefined);
    if (client === undefined) return;
    const transport = client.transport;
    const pid = 'url' in this.server ? null : ((transport as StdioClientTransport | undefined)?.pid ?? null);
    if ('url' in this.server)
      await (transport as StreamableHTTPClientTransport | undefined)?.terminateSession().catch(() => undefined);
    await client.close();
    if (pid !== null) await waitForExit(pid);
  }

  private async open(): Promise<Client> {
    const sdk = clientSdk ?? (await loadClientSdk());
    const transport = this.makeTransport(sdk);
    this.transport = transport;
    const client = new sdk.Client(CLIENT_INFO, { capabilities: {} });
    client.onclose = () => {
      if (this.transport === transport) this.current = undefined;
    };
    client.onerror = () => undefined; // transport hiccups surface as failed requests
    try {
      await client.connect(transport, { timeout: this.connectTimeoutMs });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw new RemoteError(`MCP server ${this.label}: cannot connect (${this.describe(error)})`);
    }
    const serverName = client.getServerVersion()?.name;
    if (serverName !== undefined && serverName.length > 0) this.serverName = `'${serverName}'`;
    return client;
  }

  /** An error's message, with the stdio server's last stderr line when it has one. */
  describe(error: unknown): string {
    const status =
      clientSdk !== undefined && error instanceof clientSdk.StreamableHTTPError && error.code !== undefined
        ? `HTTP ${error.code}: `
        : '';
    const line = this.lastStderrLine();
    return `${status}${messageWithCause(error)}${line.length > 0 ? `; server stderr: ${line}` : ''}`;
  }

  /**
   * What the model is told when a request failed: the server's own
   * protocol error as it is, else what happened to the connection.
   */
  callFailure(error: unknown): string {
    if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
      const line = this.lastStderrLine();
      return (
        `MCP server ${this.name} closed the connection during the ` +
        `call${line.length > 0 ? ` (its stderr: ${line})` : ''}`
      );
    }
    // The SDK's server sends its McpError's whole message, which the client's McpError prefixes again.
    if (error instanceof McpError) return error.message.replace(/^(MCP error -?\d+: )(MCP error -?\d+: )+/, '$1');
    return `MCP server ${this.name}: ${messageWithCause(error)}`;
  }

  private makeTransport(sdk: ClientSdk): StdioClientTransport | StreamableHTTPClientTransport {
    if ('url' in this.server) {
      return new sdk.StreamableHTTPClientTransport(new URL(this.server.url), {
        requestInit: { headers: { ...this.server.headers } },
      });
    }
    const { command, args, env, cwd, stderr } = this.server;
    const transport = new sdk.StdioClientTransport({
      command,
      args: args ?? [],
      ...(env && { env }),
      ...(cwd !== undefined && { cwd }),
      stderr: 'pipe',
    });
    this.stderrTail = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
      if (stderr !== 'ignore') process.stderr.write(chunk);
    });
    return transport;
  }
}

/** Checks the server options; returns the label naming the server. */
function checkServer(server: McpServerOptions): string {
  if (typeof server !== 'object' || server === null)
    throw new ConfigError(
      `mcpTools: server must be { command, args? } or { url, headers? }, got ${JSON.stringify(server)}`,
    );
  const hasCommand = 'command' in server;
  const hasUrl = 'url' in server;
  if (hasCommand === hasUrl) {
    throw new ConfigError(
      `mcpTools: server needs exactly one of 'command' (stdio) ` +
        `or 'url' (streamable HTTP), got keys ${JSON.stringify(Object.keys(server))}`,
    );
  }
  if ('url' in server) {
    let url: URL;
    try {
      url = new URL(server.url);
    } catch {
      throw new ConfigError(`mcpTools: server url must be an http(s) URL, got ${JSON.stringify(String(server.url))}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ConfigError(`mcpTools: server url must be an http(s) URL, got ${JSON.stringify(url.href)}`);
    return `'${url.href}'`;
  }
  if (typeof server.command !== 'string' || server.command.trim().length === 0) {
    throw new ConfigError(`mcpTools: server command must be a non-empty string, got ${JSON.stringify(server.command)}`);
  }
  if (
    server.args !== undefined &&
    (!Array.isArray(server.args) || server.args.some((arg) => typeof arg !== 'string'))
  ) {
    throw new ConfigError(`mcpTools: server args must be an array of strings, got ${JSON.stringify(server.args)}`);
  }
  return `'${[server.command, ...(server.args ?? [])].join(' ')}'`;
}

/** An error's message and its cause's (fetch says only "fetch failed"; the cause says why). */
function messageWithCause(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof Error ? `${errorMessage(error)} (${cause.message})` : errorMessage(error);
}

/** Waits until a process is gone (the SDK's close sends SIGKILL last but does not wait for it). */
async function waitForExit(pid: number): Promise<void> {
  const deadline = Date.now() + EXIT_WAIT_MS;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
