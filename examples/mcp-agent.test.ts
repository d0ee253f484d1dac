import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCaptured } from '../src/cli/run-captured.js';
import { Random } from '../src/random.js';
import { ChatTemplateRenderer } from '../src/rollout/chat-template-renderer.js';
import { ScriptedPolicy } from '../src/rollout/scripted-policy.js';
import { resolveConfig } from '../src/train/config-load.js';
import { collectGroups } from '../src/train/collect-groups.js';
import { readJsonLines, type StepMetrics } from '../src/train/metrics-log.js';
import type { TrainingTask } from '../src/train/task.js';
import { searchQaTaskDefinition } from '../src/tasks/search-qa/definition.js';
import type { SearchQaTask } from '../src/tasks/search-qa/search-qa-task.js';
import type { QuestionRow } from '../src/tasks/search-qa/types.js';
import { ByteTokenizer } from '../src/testing/byte-tokenizer.js';
import mcpSearchQa from './mcp-agent.js';

// The MCP example on tier-S data: a real MCP server (examples/mcp-search-server.ts) started over
// stdio serves wiki_search; its episodes are the native task's token for token, and
// `turnwise train --task` trains it from a tiny warm start.
const MODULE = join(import.meta.dirname, 'mcp-agent.ts');
const root = mkdtempSync(join(tmpdir(), 'turnwise-mcp-example-'));
const TASK = { tier: 'S', dir: join(root, 'data'), resultCharBudget: 200, searchTopK: 1 };
const log = () => {};
let mcpTask: SearchQaTask;
let nativeTask: SearchQaTask;

beforeAll(async () => {
  const tasks = { tasks: [searchQaTaskDefinition, mcpSearchQa] };
  nativeTask = (await searchQaTaskDefinition.open(resolveConfig({ task: TASK }, tasks), { log })) as SearchQaTask;
  mcpTask = (await mcpSearchQa.open(resolveConfig({ task: { ...TASK, name: 'mcp-search-qa' } }, tasks), {
    log,
  })) as SearchQaTask;
});
afterAll(async () => {
  await mcpTask?.close();
  nativeTask?.close();
});

/** One scripted rollout of `row` through `task`: a search for the question, then an answer. */
async function playOne(task: TrainingTask<QuestionRow>, row: QuestionRow) {
  const tokenizer = new ByteTokenizer();
  const call = `<tool>{"name": "wiki_search", "args": {"query": ${JSON.stringify(row.question)}}}</tool>`;
  const policy = new ScriptedPolicy({
    tokenizer,
    replies: [
      `<reasoning>Search.</reasoning>\n${call}`,
      `<reasoning>Found.</reasoning>\n<answer>${row.answers[0]}</answer>`,
    ],
  });
  const [group] = await collectGroups({
    policy,
    task,
    renderer: new ChatTemplateRenderer({ tokenizer }),
    rows_P: [row],
    groupSize: 1,
    sampling: { temperature: 1, topK: 0, topP: 1 },
    tokenBudget: 2000,
    random: new Random(1),
    concurrency: 1,
    sessionPrefix: 'mcp',
  });
  return group!.trajectories[0]!;
}

describe('the MCP agent example (examples/mcp-agent.ts)', () => {
  it("searches through the MCP server and plays the native task's episode token for token", async () => {
    for (const row of mcpTask.rows('train').slice(0, 3)) {
      const viaMcp = await playOne(mcpTask, row);
      const native = await playOne(nativeTask, row);
      expect(viaMcp.errors).toEqual([]);
      expect(viaMcp.turns[0]!.isToolResult && !viaMcp.turns[0]!.toolFailed).toBe(true);
      expect(viaMcp.turns[0]!.env!.content).toContain(nativeTask.tool.run(row.question).text);
      expect(viaMcp.tokens).toEqual(native.tokens);
      expect(viaMcp.rewardComponents).toEqual(native.rewardComponents);
    }
  });

  it('trains with `turnwise train --task examples/mcp-agent.ts` on a tiny warm start', async () => {
    const runDir = join(root, 'run');
    const overrides = Object.entries({
      'task.tier': 'S',
      'task.dir': TASK.dir,
      'task.model.size': 'tiny',
      'task.model.vocabSize': 400,
      'task.warmStart.corpusCharacters': 20_000,
      'task.warmStart.demonstrations': 16,
      'task.warmStart.pretrainSteps': 4,
      'task.warmStart.pretrainBatch': 4,
      'task.warmStart.pretrainSeqLength': 32,
      'task.warmStart.sftSteps': 4,
      'task.warmStart.sftBatch': 4,
      'task.warmStart.cacheDir': join(root, 'bases'),
      'rl.steps': 2,
      'rl.groupSize': 2,
      'rl.questionsPerStep': 2,
      'rl.maxCompletionTokens': 48,
      'checkpoint.every': 0,
      'log.trajectoriesEvery': 0,
    }).map(([key, value]) => `--${key}=${value}`);
    const train = await runCaptured(['train', '--task', MODULE, `--runDir=${runDir}`, ...overrides]);
    expect(train.errors.join('\n')).toMatch(/\[mcp\] .*tools wiki_search/);
    expect(train.code).toBe(0);
    expect(readJsonLines<StepMetrics>(join(runDir, 'metrics.jsonl'))).toHaveLength(2);
  });
});
