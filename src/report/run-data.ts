/**
 * Reading runs for the report: each run directory's config, metrics, logged trajectories and
 * evaluation results; grouping runs by name (the seeds of one method) and turning one metric into
 * a mean line with a min-max band across seeds.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DataError } from '../errors.js';
import type { EvalResult } from '../train/eval-result.js';
import { readJsonLines, type LoggedTrajectory, type StepMetrics } from '../train/metrics-log.js';

/** Everything the report reads from one run directory. */
export interface RunData {
  dir: string;
  /** The run's config `name` (the method), or the directory name. */
  name: string;
  seed: number;
  config: Record<string, unknown>;
  metrics: StepMetrics[];
  trajectories: LoggedTrajectory[];
  evals: EvalResult[];
}

/** Loads one run directory; fails when it holds neither a config nor metrics. */
export function loadRun(dir: string): RunData {
  const configPath = join(dir, 'config.json');
  const metricsPath = join(dir, 'metrics.jsonl');
  if (!existsSync(configPath) && !existsSync(metricsPath)) {
    throw new DataError(`${dir} is not a turnwise run: expected config.json or metrics.jsonl in it`);
  }
  const config = existsSync(configPath)
    ? (JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>)
    : {};
  const evalDir = join(dir, 'eval');
  const evals = existsSync(evalDir)
    ? readdirSync(evalDir)
        .filter((file) => file.endsWith('.json'))
        .sort()
        .map((file) => JSON.parse(readFileSync(join(evalDir, file), 'utf8')) as EvalResult)
    : [];
  return {
    dir,
    name: typeof config.name === 'string' ? config.name : basename(dir),
    seed: typeof config.seed === 'number' ? config.seed : 0,
    config,
    metrics: readJsonLines<StepMetrics>(metricsPath),
    trajectories: readJsonLines<LoggedTrajectory>(join(dir, 'trajectories.jsonl')),
    evals,
  };
}

/** Expands arguments into run directories: a run itself, or a directory whose children are runs. */
export function findRunDirs(paths: string[]): string[] {
  const found: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) throw new DataError(`run directory ${JSON.stringify(path)} does not exist`);
    if (existsSync(join(path, 'config.json')) || existsSync(join(path, 'metrics.jsonl'))) {
      found.push(path);
      continue;
    }
    const children = readdirSync(path, { withFileTypes: true })
      .filter(
        (entry) =>
          entry.isDirectory() &&
          (existsSync(join(path, entry.name, 'config.json')) || existsSync(join(path, entry.name, 'metrics.jsonl'))),
      )
      .map((entry) => join(path, entry.name))
      .sort();
    if (children.length === 0)
      throw new DataError(
        `${path} holds no turnwise runs (no config.json or metrics.jsonl in it or its subdirectories)`,
      );
    found.push(...children);
  }
  return found;
}

/** Runs grouped by name, in first-seen order. */
export function groupRuns(runs: RunData[]): Map<string, RunData[]> {
  const groups = new Map<string, RunData[]>();
  for (const run of runs) {
    const list = groups.get(run.name) ?? [];
    list.push(run);
    groups.set(run.name, list);
  }
  return groups;
}

/** A metric across the seeds of a group: per step, the mean and the min-max band. */
export interface Band {
  steps: number[];
  mean: number[];
  min: number[];
  max: number[];
}

/** The mean and min-max band of `key` over runs, at every step any run logged it. */
export function bandOf(runs: RunData[], key: string): Band {
  const byStep = new Map<number, number[]>();
  for (const run of runs) {
    for (const row of run.metrics) {
      const value = row[key];
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      const list = byStep.get(row.step) ?? [];
      list.push(value);
      byStep.set(row.step, list);
    }
  }
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  const band: Band = { steps, mean: [], min: [], max: [] };
  for (const step of steps) {
    const values = byStep.get(step)!;
    band.mean.push(values.reduce((a, b) => a + b, 0) / values.length);
    band.min.push(Math.min(...values));
    band.max.push(Math.max(...values));
  }
  return band;
}

/** Mean and sample standard deviation of each metric over several evaluation results. */
export function aggregateEvals(results: EvalResult[]): {
  mean: Record<string, number>;
  std: Record<string, number>;
  count: number;
} {
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  const keys = new Set(results.flatMap((result) => Object.keys(result.metrics)));
  for (const key of keys) {
    const values = results
      .map((result) => result.metrics[key])
      .filter((value): value is number => typeof value === 'number');
    const average = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
    mean[key] = average;
    std[key] =
      values.length > 1
        ? Math.sqrt(values.reduce((sum, value) => sum + (value - average) ** 2, 0) / (values.length - 1))
        : 0;
  }
  return { mean, std, count: results.length };
}
