import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRunDirs, loadRun } from '../report/run-data.js';
import { writeReport } from '../report/write-report.js';
import { resolveConfig } from './config-load.js';
import { readJsonLines, type StepMetrics } from './metrics-log.js';
import { searchQaTaskDefinition } from '../tasks/search-qa/definition.js';
import { warmStart } from '../tasks/search-qa/warm-start.js';
import { evaluateInto, openBackend, trainRun } from './pipeline.js';

// The whole pipeline on tier S with the real engine: data, warm start, RL with resume, eval, report.
describe('pipeline on the engine (slow)', () => {
  it('warm-starts, trains, resumes exactly, evaluates and reports', async () => {
    const root = mkdtempSync(join(tmpdir(), 'turnwise-pipeline-'));
    const config = (runDir: string) =>
      resolveConfig(
        {
          name: 'mt-grpo',
          runDir,
          task: {
            tier: 'S',
            dir: join(root, 'data'),
            model: { size: 'tiny', vocabSize: 320, contextLength: 512 },
            warmStart: {
              pretrainSteps: 2,
              pretrainBatch: 4,
              pretrainSeqLength: 32,
              sftSteps: 2,
              sftBatch: 4,
              demonstrations: 24,
              corpusCharacters: 40_000,
              cacheDir: join(root, 'bases'),
            },
          },
          rl: { steps: 4, groupSize: 2, questionsPerStep: 2, mu: 2, maxCompletionTokens: 48, concurrency: 8 },
          checkpoint: { every: 2 },
          eval: { questions: 4 },
        },
        { tasks: [searchQaTaskDefinition] },
      );
    const log = () => {};
    const straight = config(join(root, 'straight'));
    const task = await searchQaTaskDefinition.open(straight, { log });
    const warm = await warmStart({
      config: straight,
      task: task as Awaited<ReturnType<typeof import('../tasks/search-qa/search-qa-task.js').openSearchQaTask>>,
      log,
    });
    const baseDir = warm.baseDir;
    expect(warm.reused).toBe(false);
    expect((await searchQaTaskDefinition.localBase!(straight, task, { log })).checkpoint).toBe(baseDir);

    const full = await trainRun(straight, task, baseDir, { quiet: true });
    expect(full.steps).toBe(4);
    await full.backend.close();

    const interrupted = config(join(root, 'resumed'));
    let rounds = 0;
    const first = await trainRun(interrupted, task, baseDir, { quiet: true, shouldStop: () => rounds++ >= 1 });
    expect(first.steps).toBe(2);
    await first.backend.close();
    const second = await trainRun(interrupted, task, baseDir, { quiet: true, resume: true });
    expect(second.steps).toBe(4);
    const strip = (rows: StepMetrics[]) =>
      rows.map((row) =>
        Object.fromEntries(Object.entries(row).filter(([key]) => !key.startsWith('time/') && key !== 'elapsed')),
      );
    expect(strip(readJsonLines<StepMetrics>(join(interrupted.runDir, 'metrics.jsonl')))).toEqual(
      strip(readJsonLines<StepMetrics>(join(straight.runDir, 'metrics.jsonl'))),
    );

    const results = await evaluateInto({
      runDir: interrupted.runDir,
      backend: second.backend,
      task,
      config: interrupted,
      splits: ['dev'],
      modes: ['greedy', 'sampled'],
      checkpoint: second.checkpoint,
    });
    expect(results.map((result) => result.rollouts)).toEqual([4, 4]);
    await second.backend.close();
    const base = await openBackend(interrupted, {
      weightsFrom: baseDir,
      checkpointDirectory: join(root, 'scratch'),
      samplerSlots: 8,
    });
    expect(base.tokenizer.vocabSize).toBeGreaterThan(256);
    await base.close();

    const report = writeReport([straight.runDir, interrupted.runDir], join(root, 'report.html'));
    expect(report).toMatch(/report\.html$/);
    expect(findRunDirs([straight.runDir]).map(loadRun)[0]!.metrics).toHaveLength(4);
    task.close?.();
  }, 600_000);
});
