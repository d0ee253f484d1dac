/**
 * The Task contract of the trainer: where the question rows come from, how an episode is run for
 * one (a fresh Env per rollout) and how it is scored (a Rubric). The search-QA task implements it;
 * a user's own environment does too, in a few lines.
 */
import type { EnvFactory } from '../env/env.js';
import type { Rubric } from '../rewards/rubric.js';

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
  /** Makes a fresh episode for each rollout. */
  createEnv: EnvFactory<Row>;
  /** Scores finished trajectories. */
  rubric: Rubric<Row>;
  /** Releases indexes and database handles. */
  close?(): void;
}
