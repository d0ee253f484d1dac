/**
 * The run's logs on disk: one JSON line of metrics per optimiser step (`metrics.jsonl`) and sampled
 * trajectories with their per-turn credit (`trajectories.jsonl`). Lines are appended whole; a
 * resumed run first drops lines past the step it resumes from, so the files never hold a step twice.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Trajectory } from '../types.js';
import { writeFileAtomicSync as writeFileAtomic } from '../engine/atomic-write.js';
import { turnAdvantages } from './rollout-metrics.js';

/** One line of `metrics.jsonl`. */
export interface StepMetrics {
  step: number;
  /** Seconds since the run started (summed over resumed segments). */
  elapsed: number;
  [name: string]: number;
}

/** One logged trajectory with the credit its turns received. */
export interface LoggedTrajectory {
  step: number;
  rowId: string;
  groupIndex: number;
  question?: string;
  answers?: string[];
  messages: Trajectory['messages'];
  turnRewards: number[];
  outcomeReward: number;
  rewardComponents: Record<string, number>;
  /** Mean advantage over each turn's sampled tokens. */
  turnAdvantages: number[];
  stopReason: Trajectory['stopReason'];
  errors: string[];
}

/** What every trajectory log line holds: the row, the conversation, its rewards and how it stopped. */
export type TrajectoryRecord = Omit<LoggedTrajectory, 'step' | 'turnAdvantages'>;

/** The loggable record of a trajectory and its dataset row (question and answers when the row has them). */
export function trajectoryRecord(trajectory: Trajectory, row?: unknown): TrajectoryRecord {
  const record = (row ?? {}) as { question?: unknown; answers?: unknown };
  return {
    rowId: trajectory.rowId,
    groupIndex: trajectory.groupIndex,
    question: typeof record.question === 'string' ? record.question : undefined,
    answers: Array.isArray(record.answers) ? record.answers.map(String) : undefined,
    messages: trajectory.messages,
    turnRewards: trajectory.turnRewards,
    outcomeReward: trajectory.outcomeReward,
    rewardComponents: trajectory.rewardComponents,
    stopReason: trajectory.stopReason,
    errors: trajectory.errors,
  };
}

/** Reads every JSON line of a file (empty when it does not exist); a torn last line is skipped. */
export function readJsonLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const rows: T[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      rows.push(JSON.parse(line) as T);
    } catch {
      // A line cut by a crash mid-append: everything before it is intact.
    }
  }
  return rows;
}

/** Appends metrics and trajectories of one run directory. */
export class RunLog {
  readonly metricsPath: string;
  readonly trajectoriesPath: string;

  constructor(readonly runDir: string) {
    mkdirSync(runDir, { recursive: true });
    this.metricsPath = join(runDir, 'metrics.jsonl');
    this.trajectoriesPath = join(runDir, 'trajectories.jsonl');
  }

  /** Drops every logged line whose step is greater than `step` (used when resuming). */
  truncateAfter(step: number): void {
    for (const path of [this.metricsPath, this.trajectoriesPath]) {
      if (!existsSync(path)) continue;
      const kept = readJsonLines<{ step: number }>(path).filter((row) => row.step <= step);
      writeFileAtomic(path, kept.map((row) => `${JSON.stringify(row)}\n`).join(''));
    }
  }

  /** Appends one step's metrics. */
  writeMetrics(metrics: StepMetrics): void {
    appendFileSync(this.metricsPath, `${JSON.stringify(metrics)}\n`);
  }

  /** Appends trajectories with their per-token advantages reduced to per-turn credit. */
  writeTrajectories(step: number, items: { trajectory: Trajectory; advantages_T: number[]; row?: unknown }[]): void {
    const lines = items.map(({ trajectory, advantages_T, row }) => {
      const logged: LoggedTrajectory = {
        step,
        ...trajectoryRecord(trajectory, row),
        turnAdvantages: turnAdvantages(trajectory, advantages_T),
      };
      return `${JSON.stringify(logged)}\n`;
    });
    if (lines.length > 0) appendFileSync(this.trajectoriesPath, lines.join(''));
  }

  /** Every metrics line written so far. */
  readMetrics(): StepMetrics[] {
    return readJsonLines<StepMetrics>(this.metricsPath);
  }
}
