import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../errors.js';
import {
  formatPairedTable,
  pairedComparisons,
  pairedPermutationTest,
  questionScores,
  type QuestionScores,
} from './paired-test.js';

/** A run directory whose test/sampled evaluation scored each question with the given EMs (one line each). */
function runWith(scores: Record<string, number[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'turnwise-paired-'));
  mkdirSync(join(dir, 'eval'));
  const lines = Object.entries(scores).flatMap(([rowId, values]) =>
    values.map((value) => JSON.stringify({ rowId, rewardComponents: { exact_match: value, tool_execution: 0.2 } })),
  );
  writeFileSync(join(dir, 'eval', 'test-sampled.trajectories.jsonl'), `${lines.join('\n')}\n`);
  return dir;
}

const scores = (values: number[]): QuestionScores => new Map(values.map((value, i) => [`q${i}`, value]));

/** The exact two-sided p-value by enumerating all 2^n sign patterns. */
function exactP(differences: number[]): number {
  const observed = Math.abs(differences.reduce((sum, d) => sum + d, 0));
  let hits = 0;
  const n = differences.length;
  for (let mask = 0; mask < 2 ** n; mask++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += mask & (1 << i) ? -differences[i]! : differences[i]!;
    if (Math.abs(sum) >= observed - 1e-12) hits++;
  }
  return hits / 2 ** n;
}

describe('questionScores', () => {
  it('averages a question over samples and over runs (seeds)', () => {
    const seed0 = runWith({ a: [1, 0], b: [0, 0] });
    const seed1 = runWith({ a: [1, 1], b: [1, 0] });
    const result = questionScores([seed0, seed1], 'test', 'sampled');
    expect(result.get('a')).toBeCloseTo(0.75);
    expect(result.get('b')).toBeCloseTo(0.25);
    expect(questionScores([seed0], 'test', 'sampled', 'tool_execution').get('a')).toBeCloseTo(0.2);
  });

  it('refuses a missing evaluation or a line without the component, naming the file', () => {
    const run = runWith({ a: [1] });
    expect(() => questionScores([run], 'heldout-kinds', 'greedy')).toThrow(DataError);
    expect(() => questionScores([run], 'heldout-kinds', 'greedy')).toThrow(
      /heldout-kinds-greedy\.trajectories\.jsonl is missing/,
    );
    writeFileSync(join(run, 'eval', 'test-sampled.trajectories.jsonl'), '{"rowId":"a","rewardComponents":{}}\n');
    expect(() => questionScores([run], 'test', 'sampled')).toThrow(
      /line 1 has no rowId or no finite rewardComponents\.exact_match/,
    );
  });
});

describe('pairedPermutationTest', () => {
  it('gives p = 1 and no difference for identical models', () => {
    const same = scores([1, 0, 1, 1, 0, 0.5]);
    const result = pairedPermutationTest(same, same, { flips: 500 });
    expect(result).toMatchObject({ questions: 6, difference: 0, better: 0, worse: 0, ties: 6, pValue: 1 });
  });

  it('finds a model that is better on every one of 30 questions (p near its floor)', () => {
    const result = pairedPermutationTest(scores(Array(30).fill(1)), scores(Array(30).fill(0)), { flips: 2000 });
    expect(result.difference).toBe(1);
    expect(result.better).toBe(30);
    expect(result.pValue).toBeCloseTo(1 / 2001, 6);
  });

  it('agrees with the exact enumeration of sign patterns', () => {
    const a = [1, 1, 0.5, 0, 1, 0.75, 1, 0, 1, 0.25, 1, 1];
    const b = [0, 1, 0, 0.5, 0, 0.25, 1, 0, 0.5, 0.25, 0, 1];
    const result = pairedPermutationTest(scores(a), scores(b), { flips: 40_000, seed: 3 });
    const exact = exactP(a.map((value, i) => value - b[i]!));
    expect(exact).toBeGreaterThan(0.01);
    expect(exact).toBeLessThan(0.2);
    expect(Math.abs(result.pValue - exact)).toBeLessThan(0.01);
    expect(result).toMatchObject({ questions: 12, better: 6, worse: 1, ties: 5 });
  });

  it('pairs only the questions both models were scored on, and refuses when there are none', () => {
    const a = new Map([
      ['x', 1],
      ['y', 0],
    ]);
    const b = new Map([
      ['y', 1],
      ['z', 0],
    ]);
    expect(pairedPermutationTest(a, b, { flips: 10 })).toMatchObject({ questions: 1, meanA: 0, meanB: 1 });
    expect(() => pairedPermutationTest(new Map([['x', 1]]), new Map([['z', 1]]))).toThrow(
      /share no evaluated question/,
    );
    expect(() => pairedPermutationTest(a, b, { flips: 0 })).toThrow(/flips must be an integer >= 1/);
  });

  it('is reproducible: the same seed prints the same p-value', () => {
    const a = scores([1, 0, 1, 1, 0, 1, 0, 1]);
    const b = scores([0, 0, 1, 0, 1, 0, 0, 0]);
    expect(pairedPermutationTest(a, b, { seed: 7 }).pValue).toBe(pairedPermutationTest(a, b, { seed: 7 }).pValue);
  });
});

describe('formatPairedTable', () => {
  it('prints one aligned row per comparison with the signed difference and the p-value', () => {
    const comparison = pairedPermutationTest(scores(Array(30).fill(1)), scores(Array(30).fill(0)), { flips: 2000 });
    const table = formatPairedTable([{ split: 'test', mode: 'sampled', a: 'MT-GRPO', b: 'GRPO-MR', comparison }]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('MT-GRPO vs GRPO-MR');
    expect(lines[2]).toContain('+1.0000');
    expect(lines[2]).toContain('30 / 0 / 0');
    expect(lines[2]).toContain('< 0.001');
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
  });
});

describe('pairedComparisons', () => {
  it('compares the reference with each other model where both evaluated, leaving out runs without the file', () => {
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`q${i}`, [1]]));
    const none = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`q${i}`, [0]]));
    const unevaluated = mkdtempSync(join(tmpdir(), 'turnwise-paired-'));
    const rows = pairedComparisons({
      reference: { name: 'MT-GRPO', runDirs: [runWith(many), unevaluated] },
      others: [
        { name: 'GRPO-OR', runDirs: [runWith(none)] },
        { name: 'GRPO-MR', runDirs: [unevaluated] },
      ],
      splits: ['test', 'heldout-kinds'],
      modes: ['greedy', 'sampled'],
      flips: 2000,
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ split: 'test', mode: 'sampled', a: 'MT-GRPO', b: 'GRPO-OR' });
    expect(rows[0]!.comparison).toMatchObject({ questions: 12, better: 12, worse: 0, difference: 1 });
    expect(rows[0]!.comparison.pValue).toBeLessThan(0.01);
  });
});
