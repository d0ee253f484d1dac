/**
 * `turnwise report RUN... [--out report.html] [--split test] [--mode sampled] [--paper]`: the HTML
 * report of one or many runs (a run directory or a directory of runs).
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { writeReport, PAPER_RESULTS } from '../report/write-report.js';
import type { Command } from './command.js';

const HELP = `usage: turnwise report RUN_DIR... [options]

Writes a self-contained HTML page with the six training panels (mean and min-max band across the
seeds of each method), the results table and logged trajectories with their per-turn credit.

options:
  --out FILE         output path (default: report.html in the first run directory)
  --split NAME       evaluation split of the results table (default: test, else the first found)
  --mode MODE        greedy | sampled (default: sampled when present)
  --title TEXT       page title
  --paper            add the paper's numbers under the results table`;

export const command: Command = {
  summary: 'HTML report with the training curves, results table and trajectories of runs',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        split: { type: 'string' },
        mode: { type: 'string' },
        title: { type: 'string' },
        paper: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length === 0)
      throw new ConfigError('report needs at least one run directory; see `turnwise report --help`');
    if (values.mode !== undefined && values.mode !== 'greedy' && values.mode !== 'sampled') {
      throw new ConfigError(`--mode must be greedy or sampled, got ${JSON.stringify(values.mode)}`);
    }
    const out = values.out ?? `${positionals[0]}/report.html`;
    writeReport(positionals, out, {
      title: values.title,
      split: values.split,
      mode: values.mode as 'greedy' | 'sampled' | undefined,
      referenceRows: values.paper ? PAPER_RESULTS : undefined,
    });
    console.log(`report written to ${out}`);
    return 0;
  },
};
