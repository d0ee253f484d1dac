// An MCP server (official TypeScript SDK, stdio) exposing the search-QA index's `wiki_search`: what
// examples/mcp-agent.ts starts as a child process and trains an agent against. Any MCP server would do;
// this one answers exactly as the task's own tool, so its runs compare with the native task's.
//   node --import tsx examples/mcp-search-server.ts DATA_DIR [RESULTS] [CHARACTERS]
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { createWikiSearchTool, openSearchIndex } from 'turnwise/search-qa';

const [dir, results = '1', characters = '200'] = process.argv.slice(2);
if (dir === undefined) {
  process.stderr.write('usage: mcp-search-server.ts DATA_DIR [RESULTS] [CHARACTERS]\n');
  process.exit(2);
}
const index = await openSearchIndex(dir);
const search = createWikiSearchTool(index, { k: Number(results), maxCharacters: Number(characters) });

const server = new McpServer({ name: 'search-qa', version: '1.0.0' });
server.registerTool(
  search.name,
  {
    description: search.description,
    inputSchema: { query: z.string().describe('What to search for: a few keywords or a short question.') },
  },
  async ({ query }) => ({ content: [{ type: 'text', text: search.run(query).text }] }),
);
await server.connect(new StdioServerTransport());
