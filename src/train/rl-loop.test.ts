import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
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

  it('names the first rollout that ended in an error, once a run, with its error', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-'));
    const backend = new BigramTestBackend({
      seed: 1,
      checkpointDirectory: join(runDir, 'checkpoints'),
      failSample: (call) => (call % 5 === 0 ? 'sampler down' : undefined),
    });
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await runRl({ config: configFor(runDir), backend, task: createToyTask(), progress: null });
      const notes = errors.mock.calls
        .map((call) => String(call[0]))
        .filter((line) => line.includes('ended in an error'));
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatch(/^\[toy\] note: \d+ of 8 rollouts of round 0 ended in an error .*sampler down/);
    } finally {
      errors.mockRestore();
    }
    const metrics = readJsonLines<StepMetrics>(join(runDir, 'metrics.jsonl'));
    expect(metrics[0]!['stop/error']).toBeGreaterThan(0);
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

  // Golden hashes of the final weights, recorded with the loop as it was before pipelining (commit d0af795).
  const finalWeightsHash = (dir: string) =>
    createHash('sha256')
      .update(
        JSON.stringify(JSON.parse(readFileSync(readTrainerState(latestCheckpoint(dir)!).backendPath, 'utf8')).weights),
      )
      .digest('hex');

  it('with rl.maxStaleness 0 trains bit-identically to the loop before pipelining', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-'));
    await runRl({
      config: configFor(runDir, { rl: { ...configFor(runDir).rl, maxStaleness: 0 } }),
      backend: new BigramTestBackend({ seed: 1, checkpointDirectory: join(runDir, 'checkpoints') }),
      task: createToyTask(),
      progress: null,
    });
    expect(finalWeightsHash(runDir)).toBe('e00240385feccd99a009421d04efa460161dccd9312a4c059d6c30325aad8543');
    expect(readJsonLines<StepMetrics>(join(runDir, 'metrics.jsonl')).map((row) => row['rl/staleness'])).toEqual([
      0, 0, 0, 0, 0, 0,
    ]);
  });

  it('keeps the in-loss KL of the local engine as it was', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-'));
    await runRl({
      config: configFor(runDir, { loss: { klBeta: 0.05 } }),
      backend: new BigramTestBackend({ seed: 1, checkpointDirectory: join(runDir, 'checkpoints') }),
      reference: new BigramTestBackend({ seed: 1 }),
      task: createToyTask(),
      progress: null,
    });
    expect(finalWeightsHash(runDir)).toBe('18b51d700c0270a7de28896806ea791f559c3929ac3f09be441d2a5bb0aaa50a');
    const metrics = readJsonLines<StepMetrics>(join(runDir, 'metrics.jsonl'));
    expect(metrics[1]!['loss/kl_loss']).toBeGreaterThan(0);
    expect(metrics[1]).not.toHaveProperty('kl/policy_base');
  });

  const staleConfig = (runDir: string) =>
    configFor(runDir, {
      rl: {
        steps: 8,
        groupSize: 4,
        questionsPerStep: 2,
        mu: 1,
        maxCompletionTokens: 24,
        concurrency: 8,
        maxStaleness: 1,
      },
      checkpoint: { every: 4 },
    });
  const questions = (dir: string) =>
    readJsonLines<{ step: number; rowId: string }>(join(dir, 'trajectories.jsonl')).map((entry) => [
      entry.step,
      entry.rowId,
    ]);

  it('with rl.maxStaleness 1 samples the next round during training, one round stale, and logs it', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-'));
    await runRl({
      config: staleConfig(runDir),
      backend: new BigramTestBackend({ seed: 1, checkpointDirectory: join(runDir, 'checkpoints') }),
      task: createToyTask(),
      progress: null,
    });
    const metrics = readJsonLines<StepMetrics>(join(runDir, 'metrics.jsonl'));
    // Round 4 follows the step-4 checkpoint, so it is sampled on-policy (as a resumed run samples it).
    expect(metrics.map((row) => row['rl/staleness'])).toEqual([0, 1, 1, 1, 0, 1, 1, 1]);
    // The same questions as on-policy: the draws happen in the same order.
    const onPolicyDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-'));
    const onPolicy = staleConfig(onPolicyDir);
    onPolicy.rl.maxStaleness = 0;
    await runRl({
      config: onPolicy,
      backend: new BigramTestBackend({ seed: 1, checkpointDirectory: join(onPolicyDir, 'checkpoints') }),
      task: createToyTask(),
      progress: null,
    });
    expect(questions(runDir)).toEqual(questions(onPolicyDir));
    // Stale batches differ from on-policy ones (they were sampled with older weights) after round 1.
    const onPolicyMetrics = readJsonLines<StepMetrics>(join(onPolicyDir, 'metrics.jsonl'));
    expect(metrics[0]!['loss/value']).toBe(onPolicyMetrics[0]!['loss/value']);
    expect(metrics[2]!['rollout/sampled_tokens']).not.toBe(undefined);
    expect(finalWeightsHash(runDir)).not.toBe(finalWeightsHash(onPolicyDir));
  });

  it('with rl.maxStaleness 1 resumes exactly from a checkpoint, and re-draws a round dropped by a stop', async () => {
    const straightDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-'));
    await runRl({
      config: staleConfig(straightDir),
      backend: new BigramTestBackend({ seed: 1, checkpointDirectory: join(straightDir, 'checkpoints') }),
      task: createToyTask(),
      progress: null,
    });
    const straight = deterministic(readJsonLines<StepMetrics>(join(straightDir, 'metrics.jsonl')));

    // Stopped after 4 rounds (the step-4 checkpoint, no round in flight), then resumed: the same run.
    const resumedDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-'));
    let rounds = 0;
    const stopped = await runRl({
      config: staleConfig(resumedDir),
      backend: new BigramTestBackend({ seed: 1, checkpointDirectory: join(resumedDir, 'checkpoints') }),
      task: createToyTask(),
      progress: null,
      shouldStop: () => rounds++ >= 4,
    });
    expect(stopped.steps).toBe(4);
    await runRl({
      config: staleConfig(resumedDir),
      backend: new BigramTestBackend({ seed: 99, checkpointDirectory: join(resumedDir, 'checkpoints') }),
      task: createToyTask(),
      progress: null,
      resume: true,
    });
    expect(deterministic(readJsonLines<StepMetrics>(join(resumedDir, 'metrics.jsonl')))).toEqual(straight);
    expect(finalWeightsHash(resumedDir)).toBe(finalWeightsHash(straightDir));

    // Stopped after 2 rounds, with round 2 sampled early: it is dropped, and the resumed run draws the
    // same questions for it, sampled on-policy with the saved weights.
    const droppedDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-'));
    rounds = 0;
    const early = await runRl({
      config: staleConfig(droppedDir),
      backend: new BigramTestBackend({ seed: 1, checkpointDirectory: join(droppedDir, 'checkpoints') }),
      task: createToyTask(),
      progress: null,
      shouldStop: () => rounds++ >= 2,
    });
    expect(early.steps).toBe(2);
    await runRl({
      config: staleConfig(droppedDir),
      backend: new BigramTestBackend({ seed: 99, checkpointDirectory: join(droppedDir, 'checkpoints') }),
      task: createToyTask(),
      progress: null,
      resume: true,
    });
    const dropped = deterministic(readJsonLines<StepMetrics>(join(droppedDir, 'metrics.jsonl')));
    expect(dropped.slice(0, 2)).toEqual(straight.slice(0, 2));
    expect(dropped.map((row) => row['rl/staleness'])).toEqual([0, 1, 0, 1, 0, 1, 1, 1]);
    expect(questions(droppedDir)).toEqual(questions(straightDir));
  });

  it('warms the learning rate up linearly', () => {
    const config = configFor('/tmp/x', { optim: { lr: 1, warmupSteps: 4 } });
    expect([0, 1, 3, 10].map((step) => learningRateAt(config, step))).toEqual([0.25, 0.5, 1, 1]);
  });
});
