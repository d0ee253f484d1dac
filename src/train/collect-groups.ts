/**
 * One generation round of a task: G rollouts for each of P questions through the rollout module's
 * group rollouts (concurrent, so the policy batches what is pending; per-rollout generators forked
 * in a fixed order, so a seeded round is reproducible), scored by the task's rubric.
 */
import type { ChatRenderer } from '../rollout/chat-renderer.js';
import type { Policy } from '../rollout/policy.js';
import { rolloutGroups } from '../rollout/group-rollout.js';
import type { RolloutSampling } from '../rollout/rollout.js';
import type { Random } from '../random.js';
import type { TrajectoryGroup } from '../types.js';
import { ConfigError } from '../errors.js';
import type { TrainingTask } from './task.js';

/** Options of one round of group rollouts. */
export interface CollectOptions<Row> {
  policy: Policy;
  task: TrainingTask<Row>;
  /** The renderer; each rollout forks it. */
  renderer: ChatRenderer;
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
  const { task, rows_P } = options;
  // A row drawn twice in one round (epoch boundary) gets a suffixed id: session ids must be unique.
  const seen = new Map<string, number>();
  const ids_P = rows_P.map((row) => {
    const id = task.rowId(row);
    const count = seen.get(id) ?? 0;
    seen.set(id, count + 1);
    return count === 0 ? id : `${id}#${count}`;
  });
  if (task.createEnv === undefined && task.runRollout === undefined)
    throw new ConfigError(`task ${task.name} has neither createEnv nor runRollout; give it one`);
  return rolloutGroups({
    policy: options.policy,
    ...(task.runRollout ? { runRollout: task.runRollout.bind(task) } : { env: task.createEnv }),
    renderer: options.renderer,
    rubric: task.rubric,
    rows: rows_P,
    rowId: (_row, index) => ids_P[index]!,
    groupSize: options.groupSize,
    concurrency: options.concurrency,
    sampling: options.sampling,
    tokenBudget: options.tokenBudget,
    random: options.random,
    sessionPrefix: `${options.sessionPrefix}/`,
  });
}
