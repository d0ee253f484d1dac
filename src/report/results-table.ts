/**
 * The results table as text, in the paper's layout (PAPER.md section 6): one row per model with tool
 * execution (0..0.2), search-result answer presence (0..0.5), XML format (0..0.2) and exact match
 * (0..1), plus normalised exact match; values are means over seeds with the spread when several.
 */
import type { EvalResult } from '../train/eval-result.js';
import { RESULT_COLUMNS, resolveComponent } from './panels.js';
import { aggregateEvals } from './run-data.js';
import { formatMarkdownTable } from './markdown-table.js';

/** One model's evaluations (one per seed). */
export interface ResultsTableRow {
  model: string;
  results: EvalResult[];
}

/** Formats rows as an aligned text table (Markdown-compatible). */
export function formatResultsTable(rows: ResultsTableRow[]): string {
  const names = new Set(rows.flatMap((row) => row.results.flatMap((result) => Object.keys(result.metrics))));
  const columns = [
    ...RESULT_COLUMNS.map((panel) => ({
      title: `${panel.title} (${panel.range[0]}..${panel.range[1]})`,
      key: resolveComponent(panel, names),
    })),
    {
      title: 'Exact match, normalised',
      key: names.has('exact_match_normalized') ? 'exact_match_normalized' : undefined,
    },
  ];
  const header = ['model', 'seeds', ...columns.map((column) => column.title)];
  const body = rows.map((row) => {
    const { mean, std, count } = aggregateEvals(row.results);
    return [
      row.model,
      String(count),
      ...columns.map(({ key }) =>
        key === undefined || mean[key] === undefined
          ? '-'
          : count > 1
            ? `${mean[key]!.toFixed(4)} ± ${std[key]!.toFixed(3)}`
            : mean[key]!.toFixed(4),
      ),
    ];
  });
  return formatMarkdownTable(header, body);
}
