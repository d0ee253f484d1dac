import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../errors.js';
import { chooseEvaluation, renderReport, resultsRows } from './html-report.js';
import { TRAINING_PANELS, resolveComponent } from './panels.js';
import { bandOf, findRunDirs, groupRuns, loadRun } from './run-data.js';
import { writeSyntheticRun } from './synthetic-runs.js';

function experiment() {
  const root = mkdtempSync(join(tmpdir(), 'turnwise-report-'));
  for (const method of ['mt-grpo', 'grpo-mr', 'grpo-or'])
    for (const seed of [0, 1]) writeSyntheticRun(join(root, `${method}-seed${seed}`), method, seed, 12);
  return root;
}

describe('report data', () => {
  it('finds runs under a parent directory and groups their seeds by name', () => {
    const runs = findRunDirs([experiment()]).map(loadRun);
    expect(runs).toHaveLength(6);
    const groups = groupRuns(runs);
    expect([...groups.keys()].sort()).toEqual(['grpo-mr', 'grpo-or', 'mt-grpo']);
    expect(groups.get('mt-grpo')).toHaveLength(2);
  });

  it('computes the mean and min-max band across seeds per step', () => {
    const runs = groupRuns(findRunDirs([experiment()]).map(loadRun)).get('grpo-or')!;
    const band = bandOf(runs, 'reward/exact_match');
    expect(band.steps).toHaveLength(12);
    const values = runs.map((run) => run.metrics[0]!['reward/exact_match']!);
    expect(band.mean[0]).toBeCloseTo((values[0]! + values[1]!) / 2);
    expect(band.min[0]).toBe(Math.min(...values));
    expect(band.max[0]).toBe(Math.max(...values));
  });

  it('rejects a directory that holds no runs', () => {
    expect(() => findRunDirs([mkdtempSync(join(tmpdir(), 'empty-'))])).toThrow(DataError);
  });

  it('maps reward components onto the paper panels', () => {
    const names = [
      'tool_execution',
      'search_answer_presence',
      'xml_tag_usage',
      'xml_format',
      'answer_presence',
      'exact_match',
      'exact_match_normalized',
    ];
    expect(TRAINING_PANELS.map((panel) => resolveComponent(panel, names))).toEqual([
      'tool_execution',
      'search_answer_presence',
      'xml_tag_usage',
      'xml_format',
      'answer_presence',
      'exact_match',
    ]);
    // The names of the search-QA rubric.
    const rubric = [
      'tool_execution',
      'search_answer',
      'answer_presence',
      'exact_match',
      'xml_format',
      'xml_tags',
      'exact_match_normalized',
      'reward_errors',
    ];
    expect(TRAINING_PANELS.map((panel) => resolveComponent(panel, rubric))).toEqual([
      'tool_execution',
      'search_answer',
      'xml_tags',
      'xml_format',
      'answer_presence',
      'exact_match',
    ]);
  });
});

describe('html report', () => {
  it('renders six panels with one band per method, the results table and escaped trajectories', () => {
    const runs = findRunDirs([experiment()]).map(loadRun);
    const html = renderReport(runs, { title: 'paper <comparison>' });
    expect(html).toContain('<title>paper &#60;comparison&#62;</title>');
    expect(html).toContain('uPlot');
    const data = JSON.parse(html.match(/const DATA = (.*);\n/)![1]!);
    expect(data.panels).toHaveLength(6);
    for (const panel of data.panels) {
      expect(panel.component).not.toBeNull();
      expect(panel.bands).toHaveLength(3);
    }
    expect(html).toMatch(/<tr><td>mt-grpo<\/td><td>2<\/td>/);
    // Every value of a multi-seed row carries its spread, the normalised exact match included.
    const row = html.match(/<tr><td>mt-grpo<\/td><td>2<\/td>(.*)<\/tr>/)![1]!;
    expect(row.match(/<td>/g)!.length).toBe(row.match(/&plusmn;/g)!.length);
    expect(html).toContain('France ... capital: Paris &#60;b&#62;');
    expect(html).not.toContain('Paris <b>');
    expect(html).toContain('advantage 1.800');
  });

  it('draws no curve for a run that has only evaluation results', () => {
    const root = experiment();
    const base = join(root, 'base');
    writeSyntheticRun(base, 'base', 0, 1);
    writeFileSync(join(base, 'metrics.jsonl'), '');
    const html = renderReport(findRunDirs([root]).map(loadRun));
    const data = JSON.parse(html.match(/const DATA = (.*);\n/)![1]!);
    expect(data.panels[0].bands.map((entry: { name: string }) => entry.name)).not.toContain('base (1 seed)');
    expect(html).toMatch(/<tr><td>base<\/td><td>1<\/td>/);
  });

  it('averages evaluation results per method for the chosen split', () => {
    const runs = findRunDirs([experiment()]).map(loadRun);
    expect(chooseEvaluation(runs)).toEqual({ split: 'test', mode: 'sampled' });
    const rows = resultsRows(runs, 'test', 'sampled');
    const mt = rows.find((row) => row.model === 'mt-grpo')!;
    const or = rows.find((row) => row.model === 'grpo-or')!;
    expect(mt.seeds).toBe(2);
    expect(mt.mean['tool_execution']).toBeGreaterThan(or.mean['tool_execution']!);
  });
});

describe('html report of held-out evaluations', () => {
  it('adds the held-out table only when a run was evaluated on a held-out set', () => {
    const root = experiment();
    expect(renderReport(findRunDirs([root]).map(loadRun))).not.toContain('Held-out kinds and phrasings');
    const dir = join(root, 'mt-grpo-seed0');
    const test = JSON.parse(readFileSync(join(dir, 'eval', 'test-sampled.json'), 'utf8'));
    writeFileSync(
      join(dir, 'eval', 'heldout-kinds-greedy.json'),
      JSON.stringify({ ...test, split: 'heldout-kinds', mode: 'greedy' }),
    );
    const html = renderReport(findRunDirs([root]).map(loadRun));
    expect(html).toContain('<h2>Held-out kinds and phrasings</h2>');
    expect(html).toMatch(/\| heldout-kinds \| greedy +\| +\d+ \|/);
  });
});
