/**
 * One generation round: G rollouts for each of P questions, run concurrently (the policy batches
 * whatever is pending), then scored by the task's rubric. Each rollout gets its own generator
 * forked from the round's in a fixed order before anything runs, so the draws do not depend on
 * which rollout finishes first and a seeded round is reproducible.
 */
import type { Backend } from '../backends/backend.js';
import type { ChatRenderer } from '../rollout/chat-renderer.js';
import type { Policy } from '../rollout/policy.js';
import { runRollout, type RolloutSampling } from '../rollout/rollout.js';
import type { Random } from '../random.js';
import type { Trajectory, TrajectoryGroup } from '../types.js';
import type { TrainingTask } from './task.js';

/** A renderer per conversation: the backend's factory when it has one, else its shared renderer. */
export function rendererFactoryOf(backend: Backend): () => ChatRenderer {
  const withFactory = backend as Backend & { createRenderer?: () => ChatRenderer };
  return typeof withFactory.createRenderer === 'function' ? () => withFactory.createRenderer!() : () => backend.renderer;
}

/** Runs `tasks` with at most `limit` in flight; results keep the input order. */
export async function mapConcurrent<T, R>(items: T[], limit: number, run: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Options of one round of group rollouts. */
export interface CollectOptions<Row> {
  policy: Policy;
  task: TrainingTask<Row>;
  renderer: () => ChatRenderer;
  rows_P: Row[];
  groupSize: number;
  sampling: RolloutSampling;
  tokenBudget: number;
  random: Random;
  concurrency: number;
  /** Prefix of session ids, unique per round (the policy's KV cache is keyed by them). */
  sessionPrefix: string;
}

/** Samples and scores G rollouts per row; returns one group per row, in row order. */
export async function collectGroups<Row>(options: CollectOptions<Row>): Promise<TrajectoryGroup<Row>[]> {
  const { task, rows_P, groupSize } = options;
  const jobs = rows_P.flatMap((row, p) => Array.from({ length: groupSize }, (_, g) => ({ row, p, g, random: options.random.fork() })));
  const trajectories = await mapConcurrent(jobs, options.concurrency, async (job): Promise<Trajectory> => {
    const rowId = task.rowId(job.row);
    const trajectory = await runRollout({
      policy: options.policy,
      env: task.createEnv(),
      renderer: options.renderer(),
      row: job.row,
      rowId,
      groupIndex: job.g,
      sampling: options.sampling,
      tokenBudget: options.tokenBudget,
      random: job.random,
      sessionId: `${options.sessionPrefix}/${job.p}/${job.g}`,
    });
    return task.rubric.score(trajectory, job.row);
  });
  return rows_P.map((row, p) => ({ rowId: task.rowId(row), row, trajectories: trajectories.slice(p * groupSize, (p + 1) * groupSize) }));
}
