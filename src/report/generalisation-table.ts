/**
 * The generalisation table: exact match per evaluation split (test, held-out kinds, held-out
 * phrasings) and decoding mode (greedy, sampled), one column per model (mean ± std over seeds),
 * and the gain of the last model over the first. Each cell is `exact match / normalised`.
 */
import type { EvalResult } from '../train/eval-result.js';
import { aggregateEvals } from './run-data.js';
import { formatMarkdownTable } from './markdown-table.js';

/** One model's evaluations (any splits and modes; several seeds are averaged). */
export interface GeneralisationModel {
  name: string;
  results: EvalResult[];
}

const METRICS = ['exact_match', 'exact_match_normalized'] as const;

/** Formats the table (Markdown-compatible); rows without any result are left out. */
export function formatGeneralisationTable(options: {
  models: GeneralisationModel[];
  splits: readonly string[];
  modes: ReadonlyArray<EvalResult['mode']>;
}): string {
  const { models } = options;
  const header = ['split', 'mode', 'questions', ...models.map((model) => model.name)];
  if (models.length > 1) header.push(`gain (${models.at(-1)!.name} - ${models[0]!.name})`);
  const body: string[][] = [];
  for (const split of options.splits) {
    for (const mode of options.modes) {
      const cells = models.map((model) =>
        aggregateEvals(model.results.filter((result) => result.split === split && result.mode === mode)),
      );
      if (cells.every((cell) => cell.count === 0)) continue;
      const questions = models
        .flatMap((model) => model.results.filter((result) => result.split === split && result.mode === mode))
        .map((result) => result.questions);
      const row = [split, mode, String(Math.max(...questions))];
      for (const cell of cells) row.push(cell.count === 0 ? '-' : formatCell(cell));
      if (models.length > 1) {
        const first = cells[0]!;
        const last = cells.at(-1)!;
        row.push(
          first.count === 0 || last.count === 0
            ? '-'
            : METRICS.map((key) => signed((last.mean[key] ?? NaN) - (first.mean[key] ?? NaN))).join(' / '),
        );
      }
      body.push(row);
    }
  }
  return `Exact match / normalised exact match per split and decoding mode:\n\n${formatMarkdownTable(header, body)}`;
}

function formatCell(cell: ReturnType<typeof aggregateEvals>): string {
  return METRICS.map((key) => {
    const mean = cell.mean[key];
    if (mean === undefined) return '-';
    return cell.count > 1 ? `${mean.toFixed(3)} ± ${cell.std[key]!.toFixed(3)}` : mean.toFixed(3);
  }).join(' / ');
}

function signed(value: number): string {
  if (Number.isNaN(value)) return '-';
  return `${value >= 0 ? '+' : ''}${value.toFixed(3)}`;
}
