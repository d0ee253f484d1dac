/**
 * How a method's behaviour moved over training: the mean of chosen step metrics over its first and
 * its last steps (a tenth of the run each, at least one step), averaged over its runs (seeds). The
 * paper's figure 2 shows GRPO-OR dropping tool calls until it stops searching; this table is that
 * evidence in numbers (tool calls per rollout, share of rollouts whose first call ran, the training
 * reward, the share of groups that only the turn rewards tell apart), for whatever the methods did
 * at our scale.
 */
import type { StepMetrics } from '../train/metrics-log.js';
import { formatMarkdownTable } from './markdown-table.js';

/** The metrics the trend table shows by default, with their labels. */
export const TREND_METRICS: ReadonlyArray<{ key: string; label: string }> = [
  { key: 'rollout/tool_calls_mean', label: 'tool calls / rollout' },
  { key: 'tool_call/ok', label: 'first call ran' },
  { key: 'tool_call/none', label: 'no tool call' },
  { key: 'reward/exact_match', label: 'train EM' },
  // Groups whose turn rewards differ while every outcome is the same: signal only turn-level credit has.
  { key: 'reward/groups_turn_only', label: 'groups split by turn rewards only' },
];

/** One method's runs (one metrics list per seed). */
export interface TrendRow {
  model: string;
  runs: ReadonlyArray<readonly StepMetrics[]>;
}

/** Mean of `key` over the first and last tenth of each run's steps, averaged over runs; undefined without data. */
export function firstAndLast(
  runs: ReadonlyArray<readonly StepMetrics[]>,
  key: string,
): { first: number; last: number } | undefined {
  const firsts: number[] = [];
  const lasts: number[] = [];
  for (const metrics of runs) {
    const values = metrics.map((step) => step[key]).filter((value): value is number => Number.isFinite(value));
    if (values.length === 0) continue;
    const window = Math.max(1, Math.floor(values.length / 10));
    firsts.push(mean(values.slice(0, window)));
    lasts.push(mean(values.slice(-window)));
  }
  return firsts.length === 0 ? undefined : { first: mean(firsts), last: mean(lasts) };
}

/** The trend table as Markdown: one row per model, "first -> last" per metric. */
export function formatTrendTable(rows: readonly TrendRow[], metrics = TREND_METRICS): string {
  const header = ['model', 'seeds', ...metrics.map(({ label }) => `${label} (first -> last tenth)`)];
  const body = rows.map((row) => [
    row.model,
    String(row.runs.length),
    ...metrics.map(({ key }) => {
      const trend = firstAndLast(row.runs, key);
      return trend ? `${trend.first.toFixed(3)} -> ${trend.last.toFixed(3)}` : '-';
    }),
  ]);
  return formatMarkdownTable(header, body, 1);
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}
