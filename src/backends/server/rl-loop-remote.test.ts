import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../train/config-load.js';
import { readJsonLines, type StepMetrics } from '../../train/metrics-log.js';
import { runRl } from '../../train/rl-loop.js';
import { BigramTestBackend } from '../../testing/bigram-test-backend.js';
import { createToyTask } from '../../testing/toy-task.js';
import { connectTestClient, startTestServer } from '../../testing/serve-for-test.js';

const configFor = (runDir: string) =>
  resolveConfig({
    name: 'toy-remote',
    runDir,
    seed: 5,
    rl: { steps: 4, groupSize: 4, questionsPerStep: 2, mu: 2, maxCompletionTokens: 20, concurrency: 8 },
    optim: { lr: 0.3, warmupSteps: 1, gradClip: 5 },
    checkpoint: { every: 2 },
    log: { trajectoriesEvery: 0 },
  });

// Wall time, and the client's network counters (retries, waits, requests), differ between the runs.
const deterministic = (rows: StepMetrics[]) =>
  rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).filter(
        ([key]) => !key.startsWith('time/') && !key.startsWith('tinker/') && key !== 'elapsed',
      ),
    ),
  );

// The in-process runs seed a group's first turn as the Tinker client does (consecutively), so the
// samples are the same whether a group's first turn is one request or G.
describe('the training loop (src/train) through TinkerBackend and turnwise serve', () => {
  it('logs the same metrics step for step as the same backend in process', async () => {
    const localDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-local-'));
    await runRl({
      config: configFor(localDir),
      backend: new BigramTestBackend({
        seed: 1,
        checkpointDirectory: join(localDir, 'checkpoints'),
        coalescesConsecutiveSeeds: true,
      }),
      task: createToyTask(),
      progress: null,
    });

    const remoteDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-remote-'));
    const served = new BigramTestBackend({ seed: 1, checkpointDirectory: join(remoteDir, 'served-checkpoints') });
    const test = await startTestServer({ backend: served });
    try {
      const client = await connectTestClient(test.url, { tokenizer: served.tokenizer, renderer: served.renderer });
      const result = await runRl({
        config: configFor(remoteDir),
        backend: client,
        task: createToyTask(),
        progress: null,
      });
      await client.close();
      expect(result.steps).toBe(4);
      const rows = readJsonLines<StepMetrics>(join(remoteDir, 'metrics.jsonl'));
      // The client's counters reach the run's metrics: the rounds' tokens on their first step, one
      // request per group for the first turn (4 rollouts, so fewer requests than turns).
      expect(rows.map((row) => row['tinker/tokens_kept']! > 0)).toEqual([true, false, true, false]);
      expect(rows[0]!['tinker/tokens_generated']).toBe(rows[0]!['tinker/tokens_kept']);
      expect(rows[0]!['tinker/sample_requests']).toBeLessThan(rows[0]!['rollout/turns_mean']! * 2 * 4);
      const local = deterministic(readJsonLines<StepMetrics>(join(localDir, 'metrics.jsonl')));
      const remote = deterministic(rows);
      expect(local).toHaveLength(4);
      expect(remote).toEqual(local);
    } finally {
      await test.close();
    }
  });

  it('resumes a stopped run on a restarted server (new backend, new client) and matches the straight run', async () => {
    const straightDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-straight-'));
    await runRl({
      config: configFor(straightDir),
      backend: new BigramTestBackend({
        seed: 1,
        checkpointDirectory: join(straightDir, 'checkpoints'),
        coalescesConsecutiveSeeds: true,
      }),
      task: createToyTask(),
      progress: null,
    });

    const runDir = mkdtempSync(join(tmpdir(), 'turnwise-rl-restart-'));
    const served = join(runDir, 'served-checkpoints');
    const checkpointIndexFile = join(runDir, 'tinker-checkpoints.json');
    const remoteRun = async (seed: number, options: { resume?: boolean; shouldStop?: () => boolean }) => {
      const backend = new BigramTestBackend({ seed, checkpointDirectory: served });
      const test = await startTestServer({ backend, checkpointIndexFile });
      try {
        const client = await connectTestClient(test.url, { tokenizer: backend.tokenizer, renderer: backend.renderer });
        const result = await runRl({
          config: configFor(runDir),
          backend: client,
          task: createToyTask(),
          progress: null,
          ...options,
        });
        await client.close();
        return result;
      } finally {
        await test.close();
      }
    };
    let rounds = 0;
    expect((await remoteRun(1, { shouldStop: () => rounds++ >= 1 })).steps).toBe(2);
    expect((await remoteRun(99, { resume: true })).steps).toBe(4);
    const straight = deterministic(readJsonLines<StepMetrics>(join(straightDir, 'metrics.jsonl')));
    expect(deterministic(readJsonLines<StepMetrics>(join(runDir, 'metrics.jsonl')))).toEqual(straight);
  });
});
