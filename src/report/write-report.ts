/**
 * Writes a report for run directories to an HTML file (atomically) and returns its path.
 */
import { writeFileAtomicSync as writeFileAtomic } from '../engine/atomic-write.js';
import { renderReport, type ReportOptions } from './html-report.js';
import { findRunDirs, loadRun } from './run-data.js';

/** The paper's validation numbers (PAPER.md section 6), for the reference rows of the table. */
export const PAPER_RESULTS = [
  {
    model: 'Qwen2.5-7B base',
    values: { tool_execution: 0.0559, search_answer: 0.0934, xml_format: 0.1562, exact_match: 0.0469 },
  },
  { model: 'base + GRPO-OR', values: { tool_execution: 0, search_answer: 0, xml_format: 0.04, exact_match: 0 } },
  {
    model: 'base + GRPO-MR',
    values: { tool_execution: 0.2, search_answer: 0.3724, xml_format: 0.1994, exact_match: 0.3346 },
  },
  {
    model: 'base + MT-GRPO',
    values: { tool_execution: 0.2, search_answer: 0.3926, xml_format: 0.1996, exact_match: 0.501 },
  },
];

/** Renders the runs found under `paths` into `outputPath`. */
export function writeReport(paths: string[], outputPath: string, options: ReportOptions = {}): string {
  const runs = findRunDirs(paths).map(loadRun);
  writeFileAtomic(outputPath, renderReport(runs, options));
  return outputPath;
}
