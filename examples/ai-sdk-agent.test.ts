import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalBackend } from '../src/backends/create-local-backend.js';
import type { LocalBackend } from '../src/backends/local.js';
import { runCaptured } from '../src/cli/run-captured.js';
import { Random } from '../src/random.js';
import { ScriptedPolicy } from '../src/rollout/scripted-policy.js';
import { resolveConfig } from '../src/train/config-load.js';
import { collectGroups } from '../src/train/collect-groups.js';
import { readJsonLines, type StepMetrics } from '../src/train/metrics-log.js';
import type { TrainingTask } from '../src/train/task.js';
import { searchQaTaskDefinition } from '../src/tasks/search-qa/definition.js';
import { hermesSearchCall } from '../src/tasks/search-qa/hermes-env.js';
import type { SearchQaTask } from '../src/tasks/search-qa/search-qa-task.js';
import type { QuestionRow } from '../src/tasks/search-qa/types.js';
import aiSdkSearchQa from './ai-sdk-agent.js';

// The AI SDK example on tier-S data with a tiny warm start (seconds): the agent's conversation
// through the gateway is the native Hermes ToolEnv's token for token, and `turnwise train --task`
// trains it.
const MODULE = join(import.meta.dirname, 'ai-sdk-agent.ts');
const root = mkdtempSync(join(tmpdir(), 'turnwise-ai-sdk-example-'));
const TASK = {
  tier: 'S',
  dir: join(root, 'data'),
  resultCharBudget: 200,
  searchTopK: 1,
  model: { size: 'tiny', vocabSize: 400, contextLength: 768 },
  warmStart: {
    corpusCharacters: 20_000,
    demonstrations: 32,
    pretrainSteps: 4,
    pretrainBatch: 4,
    pretrainSeqLength: 32,
    sftSteps: 4,
    sftBatch: 4,
    cacheDir: join(root, 'bases'),
  },
};
const config = resolveConfig(
  { task: { name: 'ai-sdk-search-qa', ...TASK }, rl: { maxCompletionTokens: 300 } },
  { tasks: [searchQaTaskDefinition, aiSdkSearchQa] },
);
const nativeConfig = resolveConfig(
  { task: { name: 'search-qa', format: 'hermes', ...TASK }, rl: { maxCompletionTokens: 300 } },
  { tasks: [searchQaTaskDefinition] },
);
const log = () => {};
let agentTask: SearchQaTask;
let nativeTask: SearchQaTask;
let backend: LocalBackend;

beforeAll(async () => {
  agentTask = (await aiSdkSearchQa.open(config, { log })) as SearchQaTask;
  nativeTask = (await searchQaTaskDefinition.open(nativeConfig, { log })) as SearchQaTask;
  const base = await aiSdkSearchQa.localBase!(config, agentTask, { log });
  backend = await createLocalBackend({
    checkpoint: base.checkpoint,
    tokenizerDir: base.checkpoint,
    checkpointDirectory: root,
  });
});
afterAll(async () => {
  await backend?.close();
  await agentTask?.close();
  nativeTask?.close();
});

/** One rollout of `row` through `task`, the model's replies played by a script. */
async function playOne(task: TrainingTask<QuestionRow>, row: QuestionRow, prefix: string) {
  const answer = row.answers[0]!;
  const policy = new ScriptedPolicy({
    tokenizer: backend.tokenizer,
    reply: ({ text }) =>
      text.includes('user\n<tool_response>')
        ? `<reasoning>The result shows it.</reasoning>\n<answer>${answer}</answer>`
        : `<reasoning>I should search for this.</reasoning>\n${hermesSearchCall(row.question)}`,
  });
  const [group] = await collectGroups({
    policy,
    task,
    renderer: backend.renderer,
    rows_P: [row],
    groupSize: 1,
    sampling: { temperature: 1, topK: 0, topP: 1 },
    tokenBudget: 300,
    random: new Random(1),
    concurrency: 1,
    sessionPrefix: prefix,
  });
  return group!.trajectories[0]!;
}

describe('the AI SDK agent example (examples/ai-sdk-agent.ts)', () => {
  it('talks to the gateway in exactly the tokens of the native Hermes ToolEnv, and scores the same', async () => {
    const row = agentTask.rows('train')[0]!;
    const viaGateway = await playOne(agentTask, row, 'agent');
    const native = await playOne(nativeTask, row, 'native');
    expect(viaGateway.errors).toEqual([]);
    expect(viaGateway.turns).toHaveLength(2);
    expect(viaGateway.turns[0]!.toolCalls).toEqual([expect.objectContaining({ arguments: { query: row.question } })]);
    // One sequence: every prompt extended the tokens before it (nothing re-tokenised).
    expect(viaGateway.sequenceStarts).toBeUndefined();
    expect(viaGateway.tokens).toEqual(native.tokens);
    expect(viaGateway.trainable).toEqual(native.trainable);
    expect(viaGateway.rewardComponents).toEqual(native.rewardComponents);
    expect(native.rewardComponents.tool_execution).toBe(0.2);
    expect(native.rewardComponents.exact_match).toBe(1);
    expect(viaGateway.turnRewards).toEqual(native.turnRewards);
  });

  it('trains with `turnwise train --task examples/ai-sdk-agent.ts` on the tiny warm start', async () => {
    const runDir = join(root, 'run');
    const overrides = Object.entries({
      'task.tier': 'S',
      'task.dir': TASK.dir,
      'task.model.size': 'tiny',
      'task.model.vocabSize': 400,
      'task.warmStart.corpusCharacters': 20_000,
      'task.warmStart.demonstrations': 32,
      'task.warmStart.pretrainSteps': 4,
      'task.warmStart.pretrainBatch': 4,
      'task.warmStart.pretrainSeqLength': 32,
      'task.warmStart.sftSteps': 4,
      'task.warmStart.sftBatch': 4,
      'task.warmStart.cacheDir': TASK.warmStart.cacheDir,
      'rl.steps': 2,
      'rl.groupSize': 2,
      'rl.questionsPerStep': 2,
      'rl.maxCompletionTokens': 48,
      'checkpoint.every': 0,
      'log.trajectoriesEvery': 0,
    }).map(([key, value]) => `--${key}=${value}`);
    const train = await runCaptured(['train', '--task', MODULE, `--runDir=${runDir}`, ...overrides]);
    expect(train.errors.join('\n')).toMatch(/\[train\] run: mt-grpo, 2 steps, local backend/);
    expect(train.code).toBe(0);
    const steps = readJsonLines<StepMetrics>(join(runDir, 'metrics.jsonl'));
    expect(steps).toHaveLength(2);
    // Every rollout reached the gateway and was trained on: tokens sampled by the tiny model.
    expect(steps.every((step) => (step['reward/reward_errors'] ?? 0) === 0)).toBe(true);
  });
});
