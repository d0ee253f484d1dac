import { describe, expect, it } from 'vitest';
import type { EvalResult } from '../train/eval-result.js';
import { formatGeneralisationTable } from './generalisation-table.js';

const result = (split: string, mode: EvalResult['mode'], em: number, questions = 200): EvalResult => ({
  split,
  mode,
  checkpoint: 'x',
  questions,
  rollouts: questions,
  metrics: { exact_match: em, exact_match_normalized: em + 0.01 },
  byFamily: {},
  wallSeconds: 1,
});

describe('formatGeneralisationTable', () => {
  it('gives one row per split and mode with each model, seeds averaged, and the gain of the last model', () => {
    const table = formatGeneralisationTable({
      models: [
        { name: 'base', results: [result('test', 'greedy', 0.1), result('heldout-kinds', 'greedy', 0.05, 260)] },
        {
          name: 'MT-GRPO',
          results: [
            result('test', 'greedy', 0.3),
            result('test', 'greedy', 0.5),
            result('heldout-kinds', 'greedy', 0.1, 260),
          ],
        },
      ],
      splits: ['test', 'heldout-kinds', 'heldout-phrasings'],
      modes: ['greedy', 'sampled'],
    });
    const lines = table.split('\n');
    expect(lines[2]).toMatch(/^\| split +\| mode +\| questions \| +base \| +MT-GRPO \| gain \(MT-GRPO - base\) \|$/);
    const cells = lines.slice(4).map((line) =>
      line
        .split('|')
        .map((cell) => cell.trim())
        .filter(Boolean),
    );
    expect(cells).toEqual([
      ['test', 'greedy', '200', '0.100 / 0.110', '0.400 ± 0.141 / 0.410 ± 0.141', '+0.300 / +0.300'],
      ['heldout-kinds', 'greedy', '260', '0.050 / 0.060', '0.100 / 0.110', '+0.050 / +0.050'],
    ]);
  });
});
