/**
 * TEST DOUBLE: the MCP test server (`mcp-test-server.ts`) over stdio, run as a child process by the
 * MCP tool tests: `node --import tsx src/testing/mcp-stdio-server.ts` (see `mcpStdioTestServer()`).
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpTestServer } from './mcp-test-server.js';

await createMcpTestServer({ crashable: true }).connect(new StdioServerTransport());
process.stderr.write('mcp test server: ready on stdio\n');
