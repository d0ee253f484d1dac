/**
 * Benchmark of the rollout machinery without a model: a paper-sized round (16 rows x 21 rollouts,
 * two turns, a ~2,500-character tool result, budget 1024) through `rolloutGroups` with the
 * scripted policy, the tool env, the ChatML renderer and the paper rubric, so the per-rollout
 * overhead the loop adds to real sampling is visible. Prints a table; run with
 * `nice npx tsx src/rollout/rollout-loop.bench.ts`.
 */
import { z } from 'zod';
import { defineTool } from '../env/tool.js';
import { ToolEnv } from '../env/tool-env.js';
import { Random } from '../random.js';
import { createPaperRubric } from '../rewards/paper-rubric.js';
import { ByteTokenizer } from '../testing/byte-tokenizer.js';
import { ScriptedPolicy } from './scripted-policy.js';
import { ChatTemplateRenderer } from './chat-template-renderer.js';
import { rolloutGroups } from './group-rollout.js';

type Row = { id: string; question: string; answers: string[] };
const rows_P: Row[] = Array.from({ length: 16 }, (_, p) => ({
  id: `q${p}`,
  question: `Question number ${p}?`,
  answers: [`answer ${p}`],
}));
const article = 'The quick brown fox jumps over the lazy dog. '.repeat(55);
const search = defineTool({
  name: 'wiki_search',
  description: 'Searches Wikipedia and returns the top matching article content.',
  parameters: z.object({ query: z.string() }),
  execute: ({ query }) => `${query}. ${article}`.slice(0, 2500),
});
const tokenizer = new ByteTokenizer();
const replies = [
  `<reasoning>\n${'I need to look this up. '.repeat(6)}\n</reasoning>\n` +
    `<tool>\n{"name": "wiki_search", "args": {"query": "the question"}}\n</tool>`,
  `<reasoning>\n${'The article says so. '.repeat(4)}\n</reasoning>\n<answer>\nanswer 3\n</answer>`,
];

async function round(
  concurrency: number,
  budget: number,
): Promise<{ ms: number; rollouts: number; tokens: number; budgetStops: number }> {
  const started = performance.now();
  const groups = await rolloutGroups<Row>({
    policy: new ScriptedPolicy({ tokenizer, replies }),
    env: ToolEnv.factory<Row>({ tools: [search] }),
    renderer: new ChatTemplateRenderer({ tokenizer }),
    rubric: createPaperRubric<Row>(),
    rows: rows_P,
    groupSize: 21,
    concurrency,
    tokenBudget: budget,
    random: new Random(1),
  });
  const ms = performance.now() - started;
  const trajectories = groups.flatMap((group) => group.trajectories);
  return {
    ms,
    rollouts: trajectories.length,
    tokens: trajectories.reduce((sum, t) => sum + t.tokens.length, 0),
    budgetStops: trajectories.filter((t) => t.stopReason === 'token_budget').length,
  };
}

await round(84, 4096); // warm-up
console.log('| concurrency | budget | rollouts | tokens | budget stops | wall ms | ms / rollout |');
console.log('|---|---|---|---|---|---|---|');
for (const [concurrency, budget] of [
  [1, 4096],
  [84, 4096],
  [336, 4096],
  [84, 1024],
] as const) {
  const times: number[] = [];
  let last = await round(concurrency, budget);
  times.push(last.ms);
  for (let i = 0; i < 2; i++) {
    last = await round(concurrency, budget);
    times.push(last.ms);
  }
  const ms = times.sort((a, b) => a - b)[1]!;
  console.log(
    `| ${concurrency} | ${budget} | ${last.rollouts} | ${last.tokens} | ` +
      `${last.budgetStops} | ${ms.toFixed(0)} | ${(ms / last.rollouts).toFixed(2)} |`,
  );
}
