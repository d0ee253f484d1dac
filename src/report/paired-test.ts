/**
 * Paired comparison of two models on the same questions: a seed-level mean +- std says whether two
 * methods differ beyond the spread of training runs; the paired test says whether one answers the
 * same questions better than the other. Each model's score of a question is the mean of a reward
 * component (exact match by default) over its runs (seeds) and samples, read from the runs'
 * `eval/<split>-<mode>.trajectories.jsonl`; the test is a two-sided sign-flip permutation test on
 * the mean per-question difference (no distributional assumption; seeded, so a table reprints the
 * same p-value).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { Random } from '../random.js';
import { evalTrajectoriesFileName, type EvalResult } from '../train/eval-result.js';
import { readJsonLines } from '../train/metrics-log.js';
import { formatMarkdownTable } from './markdown-table.js';

/** Sign flips drawn by default: p-values down to ~1e-4 are resolved. */
export const DEFAULT_FLIPS = 10_000;

/** A model's mean score per question (row id). */
export type QuestionScores = Map<string, number>;

/** Outcome of the paired test of model A against model B. */
export interface PairedComparison {
  /** Questions both models were evaluated on. */
  questions: number;
  /** Mean score of A and of B over those questions. */
  meanA: number;
  meanB: number;
  /** meanA - meanB. */
  difference: number;
  /** Questions where A scores higher, lower, the same. */
  better: number;
  worse: number;
  ties: number;
  /** Two-sided p-value of the sign-flip permutation test ((hits + 1) / (flips + 1)). */
  pValue: number;
  flips: number;
}

/**
 * Mean of `component` per question over every trajectory of the runs' evaluations of `split` in
 * `mode`. A run without that evaluation's trajectories, or a trajectory without the component, is
 * refused naming the file.
 */
export function questionScores(
  runDirs: readonly string[],
  split: string,
  mode: EvalResult['mode'],
  component = 'exact_match',
): QuestionScores {
  const sums = new Map<string, { sum: number; count: number }>();
  for (const dir of runDirs) {
    const file = join(dir, 'eval', evalTrajectoriesFileName(split, mode));
    if (!existsSync(file))
      throw new DataError(`paired test: ${file} is missing; expected the ${split} ${mode} evaluation's trajectories`);
    const rows = readJsonLines<{ rowId?: unknown; rewardComponents?: Record<string, unknown> }>(file);
    rows.forEach((row, index) => {
      const value = row.rewardComponents?.[component];
      if (typeof row.rowId !== 'string' || typeof value !== 'number' || !Number.isFinite(value)) {
        throw new DataError(
          `paired test: ${file} line ${index + 1} has no rowId or no finite rewardComponents.${component}`,
        );
      }
      const entry = sums.get(row.rowId) ?? { sum: 0, count: 0 };
      entry.sum += value;
      entry.count += 1;
      sums.set(row.rowId, entry);
    });
  }
  return new Map([...sums].map(([id, { sum, count }]) => [id, sum / count]));
}

/** The paired sign-flip permutation test of A against B over the questions both were scored on. */
export function pairedPermutationTest(
  a: QuestionScores,
  b: QuestionScores,
  options: { flips?: number; seed?: number } = {},
): PairedComparison {
  const flips = options.flips ?? DEFAULT_FLIPS;
  if (!Number.isInteger(flips) || flips < 1)
    throw new DataError(`paired test: flips must be an integer >= 1, got ${flips}`);
  const ids = [...a.keys()].filter((id) => b.has(id)).sort();
  if (ids.length === 0) throw new DataError('paired test: the two models share no evaluated question');
  const differences = Float64Array.from(ids, (id) => a.get(id)! - b.get(id)!);
  const n = differences.length;
  let sumA = 0;
  let sumB = 0;
  let better = 0;
  let worse = 0;
  for (const [i, id] of ids.entries()) {
    sumA += a.get(id)!;
    sumB += b.get(id)!;
    if (differences[i]! > 0) better++;
    else if (differences[i]! < 0) worse++;
  }
  const observed = Math.abs(differences.reduce((sum, d) => sum + d, 0));
  // Ties in the statistic (flips that reproduce |sum| exactly) count as at least as extreme.
  const tolerance = 1e-12 * Math.max(1, observed);
  const random = new Random(options.seed ?? 0);
  let hits = 0;
  for (let flip = 0; flip < flips; flip++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += random.next() < 0.5 ? -differences[i]! : differences[i]!;
    if (Math.abs(sum) >= observed - tolerance) hits++;
  }
  return {
    questions: n,
    meanA: sumA / n,
    meanB: sumB / n,
    difference: (sumA - sumB) / n,
    better,
    worse,
    ties: n - better - worse,
    pValue: (hits + 1) / (flips + 1),
    flips,
  };
}

/** One line of the paired table: model A against model B on one split and decoding mode. */
export interface PairedRow {
  split: string;
  mode: EvalResult['mode'];
  a: string;
  b: string;
  comparison: PairedComparison;
}

/** The paired comparisons as a Markdown table. */
export function formatPairedTable(rows: readonly PairedRow[]): string {
  const header = ['split', 'decoding', 'A vs B', 'questions', 'EM A', 'EM B', 'A - B', 'A better / worse / tie', 'p'];
  const body = rows.map(({ split, mode, a, b, comparison: c }) => [
    split,
    mode,
    `${a} vs ${b}`,
    String(c.questions),
    c.meanA.toFixed(4),
    c.meanB.toFixed(4),
    `${c.difference >= 0 ? '+' : ''}${c.difference.toFixed(4)}`,
    `${c.better} / ${c.worse} / ${c.ties}`,
    c.pValue < 0.001 ? '< 0.001' : c.pValue.toFixed(3),
  ]);
  return formatMarkdownTable(header, body, 3);
}

/** A model for the paired comparisons: its name and its runs (one directory per seed). */
export interface PairedModel {
  name: string;
  runDirs: readonly string[];
}

/**
 * `reference` against each of `others` on every split and mode that both have evaluated (a run
 * without that evaluation's trajectories is left out of it; a pair with no run left is skipped).
 */
export function pairedComparisons(options: {
  reference: PairedModel;
  others: readonly PairedModel[];
  splits: readonly string[];
  modes: readonly EvalResult['mode'][];
  flips?: number;
}): PairedRow[] {
  const rows: PairedRow[] = [];
  const evaluated = (dirs: readonly string[], split: string, mode: EvalResult['mode']) =>
    dirs.filter((dir) => existsSync(join(dir, 'eval', evalTrajectoriesFileName(split, mode))));
  for (const split of options.splits) {
    for (const mode of options.modes) {
      const referenceDirs = evaluated(options.reference.runDirs, split, mode);
      if (referenceDirs.length === 0) continue;
      const a = questionScores(referenceDirs, split, mode);
      for (const other of options.others) {
        const otherDirs = evaluated(other.runDirs, split, mode);
        if (otherDirs.length === 0) continue;
        const comparison = pairedPermutationTest(a, questionScores(otherDirs, split, mode), { flips: options.flips });
        rows.push({ split, mode, a: options.reference.name, b: other.name, comparison });
      }
    }
  }
  return rows;
}
