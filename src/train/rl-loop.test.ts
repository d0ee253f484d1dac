import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config-load.js';
import { readJsonLines, type StepMetrics } from './metrics-log.js';
import { learningRateAt, runRl } from './rl-loop.js';
import { latestCheckpoint, readTrainerState } from './run-state.js';
import { BigramTestBackend } from '../testing/bigram-test-backend.js';
import { createToyTask } from '../testing/toy-task.js';

const configFor = (runDir: string, overrides: Record<string, unknown> = {}) =>
  resolveConfig({
    name: 'toy',
    runDir,
    seed: 11,
    rl: { steps: 6, groupSize: 4, questionsPerStep: 2, mu: 2, maxCompletionTokens: 24, concurrency: 8 },
    optim: { lr: 0.3, warmupSteps: 2, gradClip: 5 },
    checkpoint: { every: 2 },
    log: { trajectoriesEvery: 1, trajectoriesCount: 2 },
    ...overrides,
  });

/** Metrics without wall-clock fields, for step-by-step comparison. */
const deterministic = (rows: StepMetrics[]) =>
  rows.map((row) =>
    Object.fromEntries(Object.entries(row).filter(([key]) => !key.startsWith('time/') && key !== 'elapsed')),
  );

describe('RL loop', () => {
  it('trains through the Backend: rewards rise, metrics, trajectories and checkpoints are written', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-'));
    const config = configFor(runDir, {
      rl: { steps: 30, groupSize: 8, questionsPerStep: 2, mu: 2, maxCompletionTokens: 24, concurrency: 16 },
    });
    const result = await runRl({
      config,
      backend: new BigramTestBackend({ seed: 1, initScale: 0.5, checkpointDirectory: join(runDir, 'checkpoints') }),
      task: createToyTask(),
      progress: null,
    });
    expect(result.steps).toBe(30);
    const metrics = readJsonLines<StepMetrics>(join(runDir, 'metrics.jsonl'));
    expect(metrics.map((row) => row.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const first = metrics.slice(0, 4).reduce((sum, row) => sum + row['reward/total_mean']!, 0) / 4;
    const last = metrics.slice(-4).reduce((sum, row) => sum + row['reward/total_mean']!, 0) / 4;
    expect(last).toBeGreaterThan(first * 2);
    for (const key of [
      'reward/tool_execution',
      'advantage/turn0_mean',
      'loss/clip_fraction',
      'optim/grad_norm',
      'stop/token_budget',
      'time/tokens_per_second',
    ])
      expect(metrics[0]).toHaveProperty(key);
    expect(metrics[1]!.reuse).toBe(1);
    // The estimator's credit passes the invariant check on every real batch.
    expect(metrics.map((row) => row['credit/errors'])).toEqual(metrics.map(() => 0));
    expect(metrics[0]!['optim/lr']).toBeCloseTo(0.15);
    expect(existsSync(join(runDir, 'config.json'))).toBe(true);
    expect(readJsonLines(join(runDir, 'trajectories.jsonl')).length).toBeGreaterThan(0);
    expect(readTrainerState(latestCheckpoint(runDir)!).step).toBe(30);
  });

  it('resumes exactly: an interrupted run matches an uninterrupted one step for step', async () => {
    const straightDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-'));
    await runRl({
      config: configFor(straightDir),
      backend: new BigramTestBackend({ seed: 1, checkpointDirectory: join(straightDir, 'checkpoints') }),
      task: createToyTask(),
      progress: null,
    });

    const resumedDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-'));
    let rounds = 0;
    const stopped = await runRl({
      config: configFor(resumedDir),
      backend: new BigramTestBackend({ seed: 1, checkpointDirectory: join(resumedDir, 'checkpoints') }),
      task: createToyTask(),
      progress: null,
      shouldStop: () => rounds++ >= 2,
    });
    expect(stopped.stopped).toBe(true);
    expect(stopped.steps).toBe(4);
    // A fresh process: new backend with other weights, restored from the checkpoint.
    const resumed = await runRl({
      config: configFor(resumedDir),
      backend: new BigramTestBackend({ seed: 99, checkpointDirectory: join(resumedDir, 'checkpoints') }),
      task: createToyTask(),
      progress: null,
      resume: true,
    });
    expect(resumed.steps).toBe(6);

    const straight = deterministic(readJsonLines<StepMetrics>(join(straightDir, 'metrics.jsonl')));
    const again = deterministic(readJsonLines<StepMetrics>(join(resumedDir, 'metrics.jsonl')));
    expect(again).toEqual(straight);
    const weights = (dir: string) =>
      JSON.parse(readFileSync(readTrainerState(latestCheckpoint(dir)!).backendPath, 'utf8')).weights;
    expect(weights(resumedDir)).toEqual(weights(straightDir));
  });

  it('warms the learning rate up linearly', () => {
    const config = configFor('/tmp/x', { optim: { lr: 1, warmupSteps: 4 } });
    expect([0, 1, 3, 10].map((step) => learningRateAt(config, step))).toEqual([0.25, 0.5, 1, 1]);
  });
});
