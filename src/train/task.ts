/**
 * The Task contract of the trainer: where the question rows come from, how an episode is run for
 * one (a fresh Env per rollout) and how it is scored (a Rubric). A `TaskDefinition` is the task as
 * the config and the CLI know it: the zod schema of its own `task` config section, how to open it
 * from a resolved config, and optionally where a local-engine run starts when no base is given.
 * The search-QA task implements both; a user's own environment does too, in a few lines.
 */
import type { z } from 'zod';
import type { EnvFactory } from '../env/env.js';
import type { Rubric } from '../rewards/rubric.js';
import type { RolloutContext } from '../rollout/group-rollout.js';
import type { Trajectory } from '../types.js';
import type { TrainConfig } from './config.js';

export type { RolloutContext };
import type { ProgressField } from './progress.js';

/** A trainable, evaluable task. */
export interface TrainingTask<Row = unknown> {
  /** Short name for logs. */
  readonly name: string;
  /** The rows of a split (`train`, `dev`, `test`, ...); throws a DataError for an unknown split. */
  rows(split: string): Row[];
  /** A stable id of a row. */
  rowId(row: Row): string;
  /** The answers of a row, for logs (optional). */
  answers?(row: Row): string[];
  /** The question family of a row, for per-family evaluation (optional). */
  family?(row: Row): string;
  /** Metrics shown on the progress line after the mean reward (e.g. `reward/exact_match`). */
  progressFields?: ProgressField[];
  /** Makes a fresh episode for each rollout (the paper's loop runs it); or `runRollout` below. */
  createEnv?: EnvFactory<Row>;
  /**
   * Runs one rollout itself, instead of the multi-turn loop over `createEnv`: e.g. an agent of the
   * user's own talking to the policy through the gateway (src/gateway/). Returns the unscored
   * trajectory with exact tokens; the rubric scores it.
   */
  runRollout?(context: RolloutContext<Row>): Promise<Trajectory>;
  /** Scores finished trajectories. */
  rubric: Rubric<Row>;
  /** Releases indexes and database handles. */
  close?(): void;
}

/** The base a local-engine run starts from, when the task makes one. */
export interface TaskBase {
  /** A checkpoint directory (weights, config.json, tokenizer files). */
  checkpoint: string;
  /** A short description for logs. */
  label: string;
}

/**
 * Any task definition, whatever its row type: lists of tasks (the CLI's, `loadConfig({ tasks })`)
 * hold tasks of different rows, and `TaskDefinition<Row>` is invariant in `Row`.
 */
// biome-ignore lint/suspicious/noExplicitAny: a heterogeneous list needs the row type erased, see above
export type AnyTaskDefinition = TaskDefinition<any>;

/** A task as the config names it (`task.name`), with its own config section. */
export interface TaskDefinition<Row = unknown> {
  /** The value of `task.name` that selects this task. */
  readonly name: string;
  /** One line for `--help`. */
  readonly summary: string;
  /**
   * Schema of the whole `task` section, `name` included (a strict object with defaults, so a
   * partial section resolves and an unknown key is refused).
   */
  readonly configSchema: z.ZodType;
  /** Opens the task of a resolved config (its `task` section already validated by `configSchema`). */
  open(config: TrainConfig, options: { log: (message: string) => void }): Promise<TrainingTask<Row>>;
  /**
   * The checkpoint a local-engine run starts from when none is given (`--base`), e.g. a cached
   * warm start. Without it, the local backend needs `--base DIR`.
   */
  localBase?(
    config: TrainConfig,
    task: TrainingTask<Row>,
    options: { log: (message: string) => void },
  ): Promise<TaskBase>;
  /**
   * The config of a run written by an older turnwise in this task's current layout, or undefined
   * when `raw` is not such a config (it is then read as it is).
   */
  upgradeConfig?(raw: unknown): Record<string, unknown> | undefined;
}
