/**
 * The HTML report: one self-contained page (uPlot's script and stylesheet inlined, data embedded
 * as JSON) with the paper's six training panels for one or many runs (mean line and min-max band
 * across the seeds of each method), the results table in the paper's layout, and a few logged
 * trajectories with the reward and advantage each turn received.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { HELD_OUT_SPLITS, type EvalResult } from '../train/eval-result.js';
import { formatGeneralisationTable } from './generalisation-table.js';
import type { LoggedTrajectory } from '../train/metrics-log.js';
import { RESULT_COLUMNS, TRAINING_PANELS, resolveComponent } from './panels.js';
import { aggregateEvals, bandOf, groupRuns, type Band, type RunData } from './run-data.js';

/** Options of a report. */
export interface ReportOptions {
  title?: string;
  /** Which evaluation goes in the results table; default: test/sampled, else the first found. */
  split?: string;
  mode?: EvalResult['mode'];
  /** Trajectories shown per method; default 3. */
  trajectoriesPerRun?: number;
  /** Reference rows (e.g. the paper's numbers) printed under the measured ones. */
  referenceRows?: { model: string; values: Record<string, number> }[];
}

const COLORS = ['#6a3d9a', '#b2182b', '#8c6d31', '#17becf', '#e377c2', '#7f7f7f'];
/** Fixed colours of the paper's methods, so every report reads the same way. */
const METHOD_COLORS: Record<string, string> = {
  'mt-grpo': '#2a9d4b',
  'grpo-mr': '#e07b00',
  'grpo-or': '#2166ac',
  base: '#7f7f7f',
};

function colorOf(name: string, index: number): string {
  const key = Object.keys(METHOD_COLORS).find((method) => name.toLowerCase().startsWith(method));
  return key ? METHOD_COLORS[key]! : COLORS[index % COLORS.length]!;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
const format = (value: number | undefined, digits = 4) =>
  value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);

function uplotAssets(): { script: string; style: string } {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('uplot/package.json'));
  return {
    script: readFileSync(join(root, 'dist', 'uPlot.iife.min.js'), 'utf8'),
    style: readFileSync(join(root, 'dist', 'uPlot.min.css'), 'utf8'),
  };
}

/** Exact match on test and the held-out sets, greedy and sampled, per method (empty without held-out evaluations). */
function generalisationSection(groups: ReadonlyArray<[string, RunData[]]>): string {
  const models = groups.map(([name, group]) => ({ name, results: group.flatMap((run) => run.evals) }));
  const present = new Set(models.flatMap((model) => model.results.map((result) => result.split)));
  const heldOut = HELD_OUT_SPLITS.filter((split) => present.has(split));
  if (heldOut.length === 0) return '';
  const table = formatGeneralisationTable({ models, splits: ['test', ...heldOut], modes: ['greedy', 'sampled'] });
  return `<h2>Held-out kinds and phrasings</h2>\n<pre>${escapeHtml(table)}</pre>`;
}

/** Picks the (split, mode) of the results table: the requested one, else test/sampled, else any. */
export function chooseEvaluation(
  runs: RunData[],
  split?: string,
  mode?: EvalResult['mode'],
): { split: string; mode: EvalResult['mode'] } | undefined {
  const all = runs.flatMap((run) => run.evals);
  const match = (s?: string, m?: string) =>
    all.find((result) => (s === undefined || result.split === s) && (m === undefined || result.mode === m));
  const found =
    match(split, mode) ?? match('test', 'sampled') ?? match('test', undefined) ?? match(undefined, undefined);
  return found ? { split: found.split, mode: found.mode } : undefined;
}

/** The rows of the results table: one per method, metrics averaged over its seeds. */
export function resultsRows(runs: RunData[], split: string, mode: EvalResult['mode']) {
  const rows: { model: string; seeds: number; mean: Record<string, number>; std: Record<string, number> }[] = [];
  for (const [name, group] of groupRuns(runs)) {
    const results = group.flatMap((run) =>
      run.evals.filter((result) => result.split === split && result.mode === mode),
    );
    if (results.length === 0) continue;
    const { mean, std, count } = aggregateEvals(results);
    rows.push({ model: name, seeds: count, mean, std });
  }
  return rows;
}

function resultsTable(runs: RunData[], options: ReportOptions): string {
  const chosen = chooseEvaluation(runs, options.split, options.mode);
  if (!chosen) return '<p class="note">No evaluation results in these runs (run <code>turnwise eval</code>).</p>';
  const rows = resultsRows(runs, chosen.split, chosen.mode);
  const names = new Set(rows.flatMap((row) => Object.keys(row.mean)));
  const columns = RESULT_COLUMNS.map((panel) => ({ panel, key: resolveComponent(panel, names) }));
  const head = columns
    .map(({ panel }) => `<th>${escapeHtml(panel.title)} (${panel.range[0]}..${panel.range[1]})</th>`)
    .join('');
  const body = rows
    .map((row) => {
      const cell = (key: string | undefined) => {
        if (key === undefined || row.mean[key] === undefined) return '<td>-</td>';
        const spread = row.seeds > 1 ? ` <span class="std">&plusmn;${format(row.std[key], 3)}</span>` : '';
        return `<td>${format(row.mean[key])}${spread}</td>`;
      };
      const cells = columns.map(({ key }) => cell(key)).join('');
      return `<tr><td>${escapeHtml(row.model)}</td><td>${row.seeds}</td>${cells}${cell('exact_match_normalized')}</tr>`;
    })
    .join('\n');
  const reference = (options.referenceRows ?? [])
    .map((row) => {
      const cells = columns.map(({ panel }) => `<td>${format(row.values[panel.id])}</td>`).join('');
      return `<tr class="reference"><td>${escapeHtml(row.model)}</td><td></td>${cells}<td></td></tr>`;
    })
    .join('\n');
  const divider = reference
    ? `\n<tr class="divider"><td colspan="${columns.length + 3}">paper (Qwen2.5-7B, TriviaQA)</td></tr>\n${reference}`
    : '';
  return `<p class="note">Split <b>${escapeHtml(chosen.split)}</b>, ${chosen.mode} decoding; \
mean over seeds (&plusmn; sample std).</p>
<table class="results"><thead><tr><th>model</th><th>seeds</th>${head}<th>Exact match, normalised</th></tr></thead>
<tbody>${body}${divider}</tbody></table>`;
}

function trajectoryView(trajectory: LoggedTrajectory, method: string, open: boolean): string {
  let assistantTurn = 0;
  const messages = trajectory.messages
    .filter((message) => message.role !== 'system')
    .map((message) => {
      let credit = '';
      let style = '';
      if (message.role === 'assistant') {
        const k = assistantTurn++;
        const advantage = trajectory.turnAdvantages[k] ?? 0;
        const reward = trajectory.turnRewards[k];
        const alpha = Math.min(0.35, Math.abs(advantage) * 0.15).toFixed(2);
        style = ` style="background: rgba(${advantage >= 0 ? '42,157,75' : '178,24,43'},${alpha})"`;
        credit =
          `<div class="credit">turn ${k}: turn reward ${format(reward, 3)}, ` +
          `advantage ${format(advantage, 3)}</div>`;
      }
      return (
        `<div class="message ${message.role}"${style}>` +
        `<div class="role">${message.role}</div>${credit}<pre>${escapeHtml(message.content)}</pre></div>`
      );
    })
    .join('\n');
  const components = Object.entries(trajectory.rewardComponents)
    .map(([name, value]) => `${escapeHtml(name)} ${format(value, 3)}`)
    .join(', ');
  const rewards = trajectory.turnRewards.map((value) => format(value, 2)).join(', ');
  const summary =
    `<b>${escapeHtml(method)}</b> step ${trajectory.step}, ${escapeHtml(trajectory.rowId)}#${trajectory.groupIndex}: ` +
    `outcome ${format(trajectory.outcomeReward, 3)}, turn rewards [${rewards}], stop ${trajectory.stopReason}`;
  const answers = trajectory.answers ? `answers: ${escapeHtml(trajectory.answers.slice(0, 5).join(' | '))}. ` : '';
  return `<details class="trajectory"${open ? ' open' : ''}><summary>${summary}</summary>
<p class="note">${answers}${components}</p>${messages}</details>`;
}

/** Chooses logged trajectories to show: from each method's latest logged step, best and worst first. */
function pickTrajectories(runs: RunData[], perMethod: number): { method: string; trajectory: LoggedTrajectory }[] {
  const picked: { method: string; trajectory: LoggedTrajectory }[] = [];
  for (const [method, group] of groupRuns(runs)) {
    const all = group.flatMap((run) => run.trajectories);
    if (all.length === 0) continue;
    const lastStep = Math.max(...all.map((trajectory) => trajectory.step));
    const latest = all
      .filter((trajectory) => trajectory.step === lastStep)
      .sort((a, b) => b.outcomeReward - a.outcomeReward);
    const chosen =
      latest.length <= perMethod ? latest : [...latest.slice(0, perMethod - 1), latest[latest.length - 1]!];
    for (const trajectory of chosen) picked.push({ method, trajectory });
  }
  return picked;
}

/** Renders the report page for a set of runs. */
export function renderReport(runs: RunData[], options: ReportOptions = {}): string {
  const groups = [...groupRuns(runs)];
  const componentNames = new Set(
    runs
      .flatMap((run) => run.metrics.flatMap((row) => Object.keys(row)))
      .filter((key) => key.startsWith('reward/'))
      .map((key) => key.slice('reward/'.length)),
  );
  const panels = TRAINING_PANELS.map((panel) => {
    const component = resolveComponent(panel, componentNames);
    const bands: { name: string; color: string; band: Band }[] = groups.map(([name, group], i) => ({
      name: `${name} (${group.length} seed${group.length > 1 ? 's' : ''})`,
      color: colorOf(name, i),
      band: component ? bandOf(group, `reward/${component}`) : { steps: [], mean: [], min: [], max: [] },
    }));
    // Runs without training metrics (an evaluated base) have no curve; they appear in the table only.
    return {
      id: panel.id,
      title: panel.title,
      range: panel.range,
      component: component ?? null,
      bands: bands.filter((entry) => entry.band.steps.length > 0),
    };
  });
  const { script, style } = uplotAssets();
  const title = options.title ?? 'turnwise training report';
  const runList = groups
    .map(([name, group]) => {
      const seeds = group.map(
        (run) => `seed ${run.seed} (${run.metrics.length} steps, <code>${escapeHtml(run.dir)}</code>)`,
      );
      return `<li><b>${escapeHtml(name)}</b>: ${seeds.join('; ')}</li>`;
    })
    .join('\n');
  const trajectories = pickTrajectories(runs, options.trajectoriesPerRun ?? 3);
  const data = JSON.stringify({ panels }).replace(/</g, '\\u003c');
  const results = resultsTable(runs, options);
  const generalisation = generalisationSection(groups);
  const trajectoryViews = trajectories.length
    ? trajectories
        .map(({ method, trajectory }, i) =>
          trajectoryView(trajectory, method, i === 0 || trajectories[i - 1]!.method !== method),
        )
        .join('\n')
    : '<p class="note">No trajectories logged.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>${style}</style>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
.note { color: #555; margin: 4px 0; } code { font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(3, 1fr); gap: 14px; }
.panel { border: 1px solid #e3e3e3; border-radius: 6px; padding: 6px; min-height: 250px; }
.u-legend { font-size: 12px; } .u-legend .u-series { padding: 0 6px; }
.panel h3 { font-size: 13px; margin: 2px 4px 4px; } .panel .empty { color: #999; padding: 40px 10px; }
table.results { border-collapse: collapse; } \
table.results th, table.results td { border: 1px solid #ddd; padding: 4px 10px; text-align: right; }
table.results td:first-child, table.results th:first-child { text-align: left; } .std { color: #888; font-size: 11px; }
tr.reference { color: #777; font-style: italic; } \
tr.divider td { background: #f6f6f6; color: #555; text-align: left; font-size: 12px; }
.trajectory { border: 1px solid #e3e3e3; border-radius: 6px; margin: 8px 0; padding: 6px 10px; }
.message { border-left: 3px solid #ccc; margin: 6px 0; padding: 4px 8px; } .message.assistant { border-color: #2a9d4b; }
.message .role { font-size: 11px; text-transform: uppercase; color: #777; } \
.credit { font-size: 12px; font-weight: 600; }
pre { white-space: pre-wrap; word-break: break-word; margin: 2px 0; font-size: 12px; \
max-height: 220px; overflow: auto; }
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="note">Generated ${new Date().toISOString()} by turnwise. \
Lines: mean over seeds; shading: min-max across seeds.</p>
<ul>${runList}</ul>
<h2>Training curves</h2>
<div class="grid" id="panels"></div>
<h2>Results</h2>
${results}
${generalisation}
<h2>Trajectories and their per-turn credit</h2>
<p class="note">Assistant turns are shaded by the mean advantage their tokens received \
(green positive, red negative).</p>
${trajectoryViews}
<script>${script}</script>
<script>
const DATA = ${data};
for (const panel of DATA.panels) {
  const box = document.createElement('div');
  box.className = 'panel';
  box.id = 'panel-' + panel.id;
  box.innerHTML = '<h3>' + panel.title + ' (' + panel.range[0] + '..' + panel.range[1] + ')</h3>';
  document.getElementById('panels').appendChild(box);
  const steps = [...new Set(panel.bands.flatMap((b) => b.band.steps))].sort((a, b) => a - b);
  if (!panel.component || steps.length === 0) {
    box.insertAdjacentHTML('beforeend', '<div class="empty">no data for this reward</div>');
    continue;
  }
  const data = [steps];
  const series = [{ label: 'step' }];
  const bands = [];
  for (const entry of panel.bands) {
    const at = (values) => steps.map((s) => {
      const i = entry.band.steps.indexOf(s);
      return i < 0 ? null : values[i];
    });
    const base = data.length;
    data.push(at(entry.band.mean), at(entry.band.min), at(entry.band.max));
    series.push({
      label: entry.name, stroke: entry.color, width: 2, spanGaps: true, points: { show: steps.length < 40 }
    });
    series.push({
      label: entry.name + ' min', stroke: 'transparent', width: 0, spanGaps: true, points: { show: false }
    });
    series.push({
      label: entry.name + ' max', stroke: 'transparent', width: 0, spanGaps: true, points: { show: false }
    });
    bands.push({ series: [base + 2, base + 1], fill: entry.color + '33' });
  }
  const width = Math.max(280, box.clientWidth - 12);
  new uPlot({
    width, height: 200, series, bands,
    legend: { show: true, live: false },
    scales: {
      x: { time: false },
      y: { range: (u, min, max) => [Math.min(panel.range[0], min), Math.max(panel.range[1], max)] }
    },
    axes: [{ label: 'step' }, {}],
  }, data, box);
  box.querySelectorAll('.u-legend .u-series').forEach((row) => {
    if (/ (min|max)$/.test(row.textContent.trim())) row.style.display = 'none';
  });
}
document.body.dataset.rendered = 'true';
</script>
</body></html>
`;
}
