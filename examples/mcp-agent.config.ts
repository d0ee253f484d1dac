// The demo's recipe for the MCP agent (mcp-agent.ts): the same base, questions and budget as `npm run demo`.
//   npx turnwise train --task examples/mcp-agent.ts --config examples/mcp-agent.config.ts --eval
import { DEMO_PRESET } from 'turnwise/search-qa';

export default {
  ...DEMO_PRESET,
  name: 'mcp-agent',
  task: { ...DEMO_PRESET.task, name: 'mcp-search-qa' },
};
