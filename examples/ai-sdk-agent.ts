// An agent written with the Vercel AI SDK (`generateText` with a tool and several steps), trained
// with MT-GRPO on the search-QA task through turnwise's OpenAI-compatible gateway, on the CPU engine.
// The agent is ordinary AI SDK code: it only gets a base URL. The task is search-QA in the Hermes
// format (`task.format: hermes`), whose warm start teaches the `<tool_call>` text the gateway
// renders, so the base calls the tool the way this agent's requests are rendered. Usage:
//   npx turnwise train --task examples/ai-sdk-agent.ts --config examples/ai-sdk-agent.config.ts --eval
// Its native twin (a ToolEnv agent on the same questions, base and budget): search-qa-hermes.config.ts.
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, jsonSchema, stepCountIs, tool } from 'ai';
import { z } from 'zod';
import { createAgentTask, executeToolCall, hermesTextRubric, type TaskDefinition, type TrainConfig } from 'turnwise';
import {
  HERMES_SYSTEM_PROMPT,
  searchQaConfigOf,
  searchQaConfigSchema,
  searchQaTaskDefinition,
  searchQaToolSpec,
  type QuestionRow,
  type SearchQaTask,
} from 'turnwise/search-qa';

/** The task's name (`task.name` of its config). */
export const AI_SDK_TASK_NAME = 'ai-sdk-search-qa';

/** The search-QA section, under this task's name, in the Hermes format by default. */
const configSchema = searchQaConfigSchema.extend({
  name: z.literal(AI_SDK_TASK_NAME).default(AI_SDK_TASK_NAME),
  format: z.literal('hermes').default('hermes'),
});

/** The same config as the search-QA task reads it (its section under its own name). */
const asSearchQa = (config: TrainConfig): TrainConfig => ({ ...config, task: { ...config.task, name: 'search-qa' } });

/** The AI SDK agent of one question: search with the tool, at most `maxSteps` model calls, answer. */
export async function searchAgent(options: {
  baseUrl: string;
  model: string;
  apiKey: string;
  question: string;
  searchQa: SearchQaTask;
  maxSteps: number;
  signal?: AbortSignal;
}): Promise<string> {
  const { searchQa } = options;
  const spec = searchQaToolSpec(searchQa.tool);
  const provider = createOpenAICompatible({ name: 'turnwise', baseURL: options.baseUrl, apiKey: options.apiKey });
  const { text } = await generateText({
    model: provider(options.model),
    system: HERMES_SYSTEM_PROMPT,
    // The question as the native ToolEnv asks it.
    prompt: `Question: ${options.question}\n`,
    tools: {
      [spec.name]: tool({
        description: spec.description,
        inputSchema: jsonSchema<{ query: string }>(spec.parameters),
        execute: async (input) =>
          (await executeToolCall([searchQa.tool], { name: spec.name, arguments: input })).output,
      }),
    },
    stopWhen: stepCountIs(options.maxSteps),
    maxRetries: 0,
    ...(options.signal && { abortSignal: options.signal }),
  });
  return text;
}

/** The task: search-QA's data, rubric and warm-started base; rollouts are the AI SDK agent. */
const aiSdkSearchQa: TaskDefinition<QuestionRow> = {
  name: AI_SDK_TASK_NAME,
  summary: 'a Vercel AI SDK agent (generateText, wiki_search tool) on search-QA, trained through the gateway',
  configSchema,
  async open(config, options) {
    const searchQa = (await searchQaTaskDefinition.open(asSearchQa(config), options)) as SearchQaTask;
    // A tool call ends the episode once maxToolCalls calls were made, as in ToolEnv.
    const maxSteps = searchQaConfigOf(asSearchQa(config)).maxToolCalls;
    const agentTask = createAgentTask<QuestionRow>({
      name: `${AI_SDK_TASK_NAME}-${searchQa.name}`,
      rows: (split) => searchQa.rows(split),
      rowId: (row) => row.id,
      answers: (row) => row.answers,
      family: (row) => row.family,
      rubric: hermesTextRubric(searchQa.rubric),
      agent: ({ baseUrl, model, apiKey, row, signal }) =>
        searchAgent({ baseUrl, model, apiKey, question: row.question, searchQa, maxSteps, signal }),
    });
    // The search-QA handles stay (the warm start plays its demonstrations through the native env).
    return {
      ...searchQa,
      ...agentTask,
      progressFields: searchQa.progressFields,
      close: async () => {
        await agentTask.close();
        searchQa.close();
      },
    } as SearchQaTask;
  },
  localBase: (config, task, options) => searchQaTaskDefinition.localBase!(asSearchQa(config), task, options),
};

export default aiSdkSearchQa;
