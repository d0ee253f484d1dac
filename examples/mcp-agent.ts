// An agent whose tool comes from an MCP server: the search-QA task with `wiki_search` served by
// examples/mcp-search-server.ts over stdio (started here as a child process, through the official MCP
// SDK), run by ToolEnv and trained with MT-GRPO on the CPU engine. The server's tool answers as the
// task's own, so the agent starts from the same warm-started base as `npm run demo` (the paper's XML
// format by default; `--task.format=hermes` for the <tool_call> one). Usage:
//   npx turnwise train --task examples/mcp-agent.ts --config examples/mcp-agent.config.ts --eval
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { mcpTools, ToolEnv, type TaskDefinition, type TrainConfig } from 'turnwise';
import {
  hermesSearchQaEnv,
  SHORT_SYSTEM_PROMPT,
  searchQaConfigOf,
  searchQaConfigSchema,
  searchQaTaskDefinition,
  type QuestionRow,
  type SearchQaTask,
} from 'turnwise/search-qa';

/** The task's name (`task.name` of its config). */
export const MCP_TASK_NAME = 'mcp-search-qa';

/** The search-QA section under this task's name. */
const configSchema = searchQaConfigSchema.extend({ name: z.literal(MCP_TASK_NAME).default(MCP_TASK_NAME) });

/** The same config as the search-QA task reads it (its section under its own name). */
const asSearchQa = (config: TrainConfig): TrainConfig => ({ ...config, task: { ...config.task, name: 'search-qa' } });

/** The command that runs the example's MCP server over the task's data with its result budget. */
export function searchServerCommand(searchQa: SearchQaTask) {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const script = fileURLToPath(new URL('./mcp-search-server.ts', import.meta.url));
  const { k, maxCharacters } = searchQa.tool.settings;
  return {
    command: process.execPath,
    args: ['--import', tsx, script, searchQa.dir, String(k), String(maxCharacters ?? 200)],
  };
}

/** The task: search-QA's data, rubric and base; the tool is the MCP server's. */
const mcpSearchQa: TaskDefinition<QuestionRow> = {
  name: MCP_TASK_NAME,
  summary: 'search-QA with wiki_search served by an MCP server over stdio (examples/mcp-search-server.ts)',
  configSchema,
  async open(config, options) {
    const searchQa = (await searchQaTaskDefinition.open(asSearchQa(config), options)) as SearchQaTask;
    const section = searchQaConfigOf(asSearchQa(config));
    const tools = await mcpTools({ server: { ...searchServerCommand(searchQa), stderr: 'inherit' } });
    options.log(`[mcp] ${tools.connection.label}: tools ${tools.map((tool) => tool.name).join(', ')}`);
    const createEnv =
      section.format === 'hermes'
        ? hermesSearchQaEnv<QuestionRow>(tools[0]!, section.maxToolCalls)
        : ToolEnv.factory<QuestionRow>({
            tools,
            maxToolCalls: section.maxToolCalls,
            ...(section.systemPrompt === 'short' ? { systemPrompt: SHORT_SYSTEM_PROMPT } : {}),
          });
    return {
      ...searchQa,
      name: `${MCP_TASK_NAME}-${searchQa.name}`,
      createEnv,
      close: async () => {
        await tools.close();
        searchQa.close();
      },
    } as SearchQaTask;
  },
  localBase: (config, task, options) => searchQaTaskDefinition.localBase!(asSearchQa(config), task, options),
};

export default mcpSearchQa;
