import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, stepCountIs, tool } from 'ai';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMtGrpo } from '../advantage/mt-grpo.js';
import { defineReward } from '../rewards/reward-function.js';
import { Rubric } from '../rewards/rubric.js';
import { Random } from '../random.js';
import { BigramTestBackend } from '../testing/bigram-test-backend.js';
import { resolveConfig } from '../train/config-load.js';
import { collectGroups } from '../train/collect-groups.js';
import { readJsonLines, type StepMetrics } from '../train/metrics-log.js';
import { runRl } from '../train/rl-loop.js';
import type { TrainingTask } from '../train/task.js';
import { createAgentTask } from './agent-task.js';

// Agents as users write them (the official openai client, the Vercel AI SDK), trained through the
// gateway by the real RL loop on the bigram test backend. A bigram model never writes a valid tool
// call by chance, so the backend plays a script for the tool turn (still scored by the model: real
// logprobs) and draws the final answer itself.

interface Row {
  id: string;
  city: string;
}
const ROWS: Row[] = ['Paris', 'Oslo', 'Rome'].map((city, i) => ({ id: `q${i}`, city }));
const CALL = (city: string) => `<tool_call>\n{"name": "weather", "arguments": {"city": "${city}"}}\n</tool_call>`;

/** The tool turn is scripted (two calls in one turn); the answer turn is drawn by the model. */
function script(prompt: string): string | undefined {
  if (!prompt.includes('# Tools')) return undefined;
  const lastUser = prompt.slice(prompt.lastIndexOf('<|im_start|>user\n'));
  if (lastUser.startsWith('<|im_start|>user\n<tool_response>')) return undefined;
  const city = /weather in ([A-Z]\w+)\?/.exec(prompt)?.[1] ?? 'Paris';
  return `${CALL(city)}\n${CALL('Oslo')}`;
}

const WEATHER = {
  type: 'function' as const,
  function: {
    name: 'weather',
    description: 'The weather in a city.',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** An agent written with the openai client: call tools until the model answers, at most 3 calls. */
async function openAiAgent({
  baseUrl,
  model,
  apiKey,
  row,
}: {
  baseUrl: string;
  model: string;
  apiKey: string;
  row: Row;
}) {
  const client = new OpenAI({ baseURL: baseUrl, apiKey, maxRetries: 0 });
  const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: `What is the weather in ${row.city}?` }];
  for (let step = 0; step < 3; step++) {
    const completion = await client.chat.completions.create({
      model,
      messages,
      tools: [WEATHER],
      max_tokens: 200,
      temperature: 0.3,
    });
    const message = completion.choices[0]!.message;
    messages.push(message);
    if (!message.tool_calls?.length) return message.content;
    for (const call of message.tool_calls) {
      if (call.type !== 'function') continue;
      const { city } = JSON.parse(call.function.arguments) as { city: string };
      messages.push({ role: 'tool', tool_call_id: call.id, content: city === row.city ? 'sunny' : 'snowy' });
    }
  }
  return undefined;
}

/** One group of `groupSize` rollouts of `row` through `task`, on `backend`'s policy. */
function collectOne(
  backend: BigramTestBackend,
  task: TrainingTask<Row>,
  row: Row,
  options: { groupSize: number; seed: number; topK?: number; prefix: string },
) {
  return collectGroups({
    policy: backend.policy(),
    task,
    renderer: backend.renderer,
    rows_P: [row],
    groupSize: options.groupSize,
    sampling: { temperature: 1, topK: options.topK ?? 0, topP: 1 },
    tokenBudget: 600,
    random: new Random(options.seed),
    concurrency: options.groupSize,
    sessionPrefix: options.prefix,
  });
}

const rubric = new Rubric<Row>([
  defineReward<Row>({
    name: 'tool_execution',
    level: 'turn',
    score: ({ trajectory }) => (trajectory.turns[0]?.isToolResult && !trajectory.turns[0].toolFailed ? 0.2 : 0),
  }),
  defineReward<Row>({
    name: 'answer_length',
    level: 'outcome',
    score: ({ trajectory }) => Math.min(1, (trajectory.turns.at(-1)?.assistant.content.length ?? 0) / 40),
  }),
]);

const config = (runDir: string) =>
  resolveConfig({
    name: 'agent',
    runDir,
    seed: 3,
    rl: {
      steps: 2,
      groupSize: 2,
      questionsPerStep: 2,
      mu: 1,
      maxCompletionTokens: 600,
      concurrency: 4,
      temperature: 1,
    },
    checkpoint: { every: 0 },
    log: { trajectoriesEvery: 0 },
    optim: { lr: 0.05, warmupSteps: 0 },
  });

describe("an agent of the user's own, trained through the gateway", () => {
  it("records an openai-client agent's calls as one trajectory: exact tokens, a turn per message", async () => {
    const backend = new BigramTestBackend({ seed: 1, script });
    const task = createAgentTask<Row>({
      name: 'weather',
      rows: () => ROWS,
      rowId: (row) => row.id,
      agent: openAiAgent,
      rubric,
    });
    try {
      const [group] = await collectOne(backend, task, ROWS[0]!, { groupSize: 2, seed: 5, prefix: 'round0' });
      for (const trajectory of group!.trajectories) {
        expect(trajectory.errors).toEqual([]);
        expect(trajectory.turns.length).toBe(2);
        const [toolTurn] = trajectory.turns;
        // Two calls in one assistant message: one turn, answered by both tool messages.
        expect(toolTurn!.toolCalls.map((call) => call.arguments.city)).toEqual(['Paris', 'Oslo']);
        expect(toolTurn!.isToolResult).toBe(true);
        expect(trajectory.rewardComponents.tool_execution).toBe(0.2);
        // Exact tokens: the recorded prompt of the second call extends the first sequence, no split.
        expect(trajectory.sequenceStarts).toBeUndefined();
        // Every sampled token was scored by the model at the run's temperature (not the agent's 0.3).
        const sampled = trajectory.tokens.flatMap((token, t) => (trajectory.trainable[t] ? [[t, token] as const] : []));
        for (const [t, token] of sampled) {
          const previous = trajectory.tokens[t - 1]!;
          const row = backend.weights_V_V.slice(previous * 259, previous * 259 + 259);
          const max = Math.max(...row);
          const logZ = max + Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0));
          expect(trajectory.logprobs[t]).toBeCloseTo(row[token]! - logZ, 9);
        }
      }
      // Each rollout sampled its own answer from its own seed.
      expect(group!.trajectories[0]!.tokens).not.toEqual(group!.trajectories[1]!.tokens);
    } finally {
      await task.close();
    }
  });

  it('trains an AI SDK agent (generateText with tools and several steps) with MT-GRPO for two steps', async () => {
    const backend = new BigramTestBackend({ seed: 1, script });
    const task = createAgentTask<Row>({
      name: 'weather-ai-sdk',
      rows: () => ROWS,
      rowId: (row) => row.id,
      rubric,
      agent: async ({ baseUrl, model, apiKey, row }) => {
        const provider = createOpenAICompatible({ name: 'turnwise', baseURL: baseUrl, apiKey });
        const result = await generateText({
          model: provider(model),
          prompt: `What is the weather in ${row.city}?`,
          maxOutputTokens: 200,
          tools: {
            weather: tool({
              description: 'The weather in a city.',
              inputSchema: z.object({ city: z.string() }),
              execute: async ({ city }) => (city === row.city ? 'sunny' : 'snowy'),
            }),
          },
          stopWhen: stepCountIs(3),
        });
        return result.text;
      },
    });
    const runDir = mkdtempSync(join(tmpdir(), 'turnwise-agent-task-'));
    try {
      const result = await runRl({ config: config(runDir), backend, task, estimator: createMtGrpo(), progress: null });
      expect(result.steps).toBe(2);
      const metrics = readJsonLines<StepMetrics>(join(runDir, 'metrics.jsonl'));
      expect(metrics).toHaveLength(2);
      expect(metrics[0]!['rollout/errors']).toBe(0);
      expect(metrics[0]!['rollout/turns_mean']).toBe(2);
      expect(metrics[0]!['reward/tool_execution']).toBe(0.2);
      expect(metrics[0]!['rollout/rewritten_history_rate']).toBe(0);
      expect(metrics[0]!['loss/tokens']).toBeGreaterThan(0);
    } finally {
      await task.close();
    }
  });

  it('samples each rollout with its own settings (greedy evaluation after sampled training)', async () => {
    const backend = new BigramTestBackend({ seed: 1, script });
    const task = createAgentTask<Row>({
      name: 'weather',
      rows: () => ROWS,
      rowId: (row) => row.id,
      agent: openAiAgent,
      rubric,
    });
    const collect = (topK: number, seed: number) =>
      collectOne(backend, task, ROWS[2]!, { groupSize: 2, seed, topK, prefix: `k${topK}s${seed}` });
    try {
      const greedy = [...(await collect(1, 1))[0]!.trajectories, ...(await collect(1, 2))[0]!.trajectories];
      const answers = greedy.map((trajectory) => trajectory.tokens.slice(trajectory.turns[1]!.sampled.start));
      // Greedy: every rollout answers the same, whatever its seed; sampled rollouts differ.
      expect(new Set(answers.map((tokens) => tokens.join(','))).size).toBe(1);
      const sampled = (await collect(0, 1))[0]!.trajectories;
      expect(sampled[0]!.tokens).not.toEqual(sampled[1]!.tokens);
    } finally {
      await task.close();
    }
  });

  it("keeps one gateway across rounds and samples each round from that round's policy", async () => {
    const first = new BigramTestBackend({ seed: 1, script });
    const second = new BigramTestBackend({ seed: 2, script });
    const urls: string[] = [];
    const task = createAgentTask<Row>({
      name: 'weather',
      rows: () => ROWS,
      rowId: (row) => row.id,
      rubric,
      agent: (context) => {
        urls.push(new URL(context.baseUrl).origin);
        return openAiAgent(context);
      },
    });
    try {
      // Two rounds with two policy objects (as after an optimiser step); restarting the server
      // between them reset the agents' pooled connections (ECONNRESET) in real runs.
      const [one] = await collectOne(first, task, ROWS[0]!, { groupSize: 4, seed: 1, prefix: 'round0' });
      const [two] = await collectOne(second, task, ROWS[0]!, { groupSize: 4, seed: 1, prefix: 'round1' });
      expect([...one!.trajectories, ...two!.trajectories].flatMap((trajectory) => trajectory.errors)).toEqual([]);
      expect(new Set(urls).size).toBe(1);
      // The second round's answers come from the second policy: same seeds, other weights, other tokens.
      expect(two!.trajectories.map((t) => t.tokens)).not.toEqual(one!.trajectories.map((t) => t.tokens));
    } finally {
      await task.close();
    }
  });

  it('splits a rewritten history into its own sequence, and records a failing agent as an error', async () => {
    const backend = new BigramTestBackend({ seed: 1, script });
    const forgetful = createAgentTask<Row>({
      name: 'forgetful',
      rows: () => ROWS,
      rowId: (row) => row.id,
      rubric,
      agent: async ({ baseUrl, model, apiKey, row }) => {
        const client = new OpenAI({ baseURL: baseUrl, apiKey, maxRetries: 0 });
        await client.chat.completions.create({
          model,
          messages: [{ role: 'user', content: `What is the weather in ${row.city}?` }],
          tools: [WEATHER],
          max_tokens: 200,
        });
        // The agent summarises instead of sending its history back: a new sequence, not re-tokenised.
        await client.chat.completions.create({
          model,
          messages: [{ role: 'user', content: `Summary: ${row.city} is sunny. Answer.` }],
          max_tokens: 10,
        });
      },
    });
    const failing = createAgentTask<Row>({
      name: 'failing',
      rows: () => ROWS,
      rowId: (row) => row.id,
      rubric,
      agent: async () => {
        throw new Error('the agent crashed');
      },
    });
    const collect = (task: typeof forgetful) =>
      collectOne(backend, task, ROWS[1]!, { groupSize: 1, seed: 1, prefix: 'r' });
    try {
      const [split] = await collect(forgetful);
      const trajectory = split!.trajectories[0]!;
      expect(trajectory.sequenceStarts).toHaveLength(1);
      expect(trajectory.turns).toHaveLength(2);
      const [crashed] = await collect(failing);
      expect(crashed!.trajectories[0]).toMatchObject({
        stopReason: 'error',
        errors: ['agent: the agent crashed'],
        turns: [],
      });
    } finally {
      await forgetful.close();
      await failing.close();
    }
  });
});
