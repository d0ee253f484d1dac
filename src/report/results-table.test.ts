import { describe, expect, it } from 'vitest';
import type { EvalResult } from '../train/eval-result.js';
import { formatResultsTable } from './results-table.js';

const result = (metrics: Record<string, number>): EvalResult => ({
  split: 'test',
  mode: 'sampled',
  checkpoint: 'x',
  questions: 10,
  rollouts: 10,
  metrics,
  byFamily: {},
  wallSeconds: 1,
});

describe('results table', () => {
  it('prints the paper columns, one row per model, mean ± std over seeds', () => {
    const table = formatResultsTable([
      {
        model: 'base',
        results: [
          result({
            tool_execution: 0.05,
            search_answer: 0.1,
            xml_format: 0.15,
            exact_match: 0.04,
            exact_match_normalized: 0.05,
          }),
        ],
      },
      {
        model: 'base + MT-GRPO',
        results: [
          result({ tool_execution: 0.2, search_answer: 0.4, xml_format: 0.2, exact_match: 0.5 }),
          result({ tool_execution: 0.18, search_answer: 0.3, xml_format: 0.2, exact_match: 0.3 }),
        ],
      },
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        /\| model +\| seeds \| Tool Execution \(0\.\.0\.2\) /.source +
          /\| Search Result Answer Presence \(0\.\.0\.5\) /.source +
          /\| XML Format \(0\.\.0\.2\) \| Exact Match \(0\.\.1\) \| Exact match, normalised \|/.source,
      ),
    );
    expect(lines[2]).toMatch(/\| base +\| 1 +\| +0\.0500 \| +0\.1000 \| +0\.1500 \| +0\.0400 \| +0\.0500 \|/);
    expect(lines[3]).toMatch(/base \+ MT-GRPO \| 2 .*0\.1900 ± 0\.014 .*0\.4000 ± 0\.141/);
    expect(lines[3]).toMatch(/\| +- \|$/);
  });
});
