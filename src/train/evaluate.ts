/**
 * Evaluation: a policy on a fixed random subset of a split, with greedy (top-1) or sampled decoding (the
 * training temperature, as the paper evaluated), scored by the task's rubric. Reports the mean of
 * every reward component (tool execution, search-result answer presence, XML format, exact match,
 * normalised exact match, ...) overall and per question family, plus stop reasons and how the first
 * tool call went (none / failed / ok); optionally writes every evaluated trajectory as JSON lines.
 */
import { join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { Random } from '../random.js';
import type { Trajectory } from '../types.js';
import { writeFileAtomicSync as writeFileAtomic } from '../engine/atomic-write.js';
import { collectGroups } from './collect-groups.js';
import { evalFileName, evalTrajectoriesFileName, type EvalResult } from './eval-result.js';
import { trajectoryRecord, type TrajectoryRecord } from './metrics-log.js';
import { firstToolCallOutcome, type ToolCallOutcome } from './rollout-metrics.js';
import type { TrainingTask } from './task.js';

/** Options of one evaluation. */
export interface EvaluateOptions<Row> {
  backend: Backend;
  task: TrainingTask<Row>;
  split: string;
  mode: EvalResult['mode'];
  /** Questions from the start of the split (all when larger). */
  questions: number;
  /** Rollouts per question in sampled mode (greedy uses 1). */
  samples: number;
  sampling: { temperature: number; topK: number; topP: number };
  tokenBudget: number;
  seed: number;
  concurrency: number;
  /** Label of what is evaluated (a checkpoint path, `base`). */
  checkpoint: string;
  /** When set, every evaluated trajectory is written here, one JSON line each (atomically). */
  trajectoriesPath?: string;
}

/** One evaluated rollout as written to the trajectories file. */
export interface EvaluatedTrajectory extends TrajectoryRecord {
  family?: string;
  toolCall: ToolCallOutcome;
}

function means(trajectories: Trajectory[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const trajectory of trajectories) {
    for (const [name, value] of Object.entries(trajectory.rewardComponents)) sums[name] = (sums[name] ?? 0) + value;
    sums[`stop/${trajectory.stopReason}`] = (sums[`stop/${trajectory.stopReason}`] ?? 0) + 1;
    sums['rollout/tool_calls'] =
      (sums['rollout/tool_calls'] ?? 0) + trajectory.turns.filter((turn) => turn.isToolResult).length;
    const toolCall = `tool_call/${firstToolCallOutcome(trajectory)}`;
    sums[toolCall] = (sums[toolCall] ?? 0) + 1;
    sums['reward/outcome'] = (sums['reward/outcome'] ?? 0) + trajectory.outcomeReward;
    sums['reward/turn'] = (sums['reward/turn'] ?? 0) + trajectory.turnRewards.reduce((a, b) => a + b, 0);
  }
  const count = Math.max(1, trajectories.length);
  return Object.fromEntries(Object.entries(sums).map(([name, sum]) => [name, sum / count]));
}

/** Seed of the evaluation subset: fixed, so every model is scored on the same questions. */
const SUBSET_SEED = 20250511;

/**
 * The questions evaluated: all of the split, or a fixed random subset of `count` (split files are
 * grouped by family, so a prefix would not be representative), kept in split order.
 */
export function evaluationRows<Row>(rows: Row[], count: number): Row[] {
  if (count >= rows.length) return rows;
  const indices = new Random(SUBSET_SEED)
    .shuffle(rows.map((_, i) => i))
    .slice(0, count)
    .sort((a, b) => a - b);
  return indices.map((i) => rows[i]!);
}

/** The splits of `splits` that the task has rows for, in order (e.g. the held-out sets of a task that builds them). */
export function availableSplits<Row>(task: TrainingTask<Row>, splits: readonly string[]): string[] {
  return splits.filter((split) => {
    try {
      return task.rows(split).length > 0;
    } catch {
      return false;
    }
  });
}

/** Runs one evaluation and returns its result. */
export async function evaluate<Row>(options: EvaluateOptions<Row>): Promise<EvalResult> {
  const started = performance.now();
  const rows = evaluationRows(options.task.rows(options.split), options.questions);
  const greedy = options.mode === 'greedy';
  const groups = await collectGroups({
    policy: options.backend.policy(),
    task: options.task,
    renderer: options.backend.renderer,
    rows_P: rows,
    groupSize: greedy ? 1 : options.samples,
    // Greedy decoding: keep only the most likely token.
    sampling: greedy ? { temperature: 1, topK: 1, topP: 1 } : options.sampling,
    tokenBudget: options.tokenBudget,
    random: new Random(options.seed),
    concurrency: options.concurrency,
    sessionPrefix: `eval-${options.split}-${options.mode}`,
  });
  const trajectories = groups.flatMap((group) => group.trajectories);
  const byFamily: EvalResult['byFamily'] = {};
  if (options.task.family) {
    const families = new Map<string, Trajectory[]>();
    groups.forEach((group) => {
      const family = options.task.family!(group.row);
      families.set(family, [...(families.get(family) ?? []), ...group.trajectories]);
    });
    for (const [family, list] of [...families].sort(([a], [b]) => (a < b ? -1 : 1)))
      byFamily[family] = { count: list.length, metrics: means(list) };
  }
  if (options.trajectoriesPath !== undefined) {
    const lines = groups.flatMap((group) => {
      const family = options.task.family?.(group.row);
      return group.trajectories.map((trajectory) => {
        const record: EvaluatedTrajectory = {
          ...trajectoryRecord(trajectory, group.row),
          family,
          toolCall: firstToolCallOutcome(trajectory),
        };
        return `${JSON.stringify(record)}\n`;
      });
    });
    writeFileAtomic(options.trajectoriesPath, lines.join(''));
  }
  return {
    split: options.split,
    mode: options.mode,
    checkpoint: options.checkpoint,
    questions: rows.length,
    rollouts: trajectories.length,
    metrics: means(trajectories),
    byFamily,
    wallSeconds: (performance.now() - started) / 1000,
  };
}

/** Where an evaluation's trajectories go inside `<runDir>/eval/`. */
export function evalTrajectoriesPath(runDir: string, split: string, mode: EvalResult['mode']): string {
  return join(runDir, 'eval', evalTrajectoriesFileName(split, mode));
}

/** Writes an evaluation result into `<runDir>/eval/`. */
export function writeEvalResult(runDir: string, result: EvalResult): string {
  const path = join(runDir, 'eval', evalFileName(result.split, result.mode));
  writeFileAtomic(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}
