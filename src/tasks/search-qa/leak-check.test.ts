import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../random.js';
import { deepMerge, resolveConfig } from '../../train/config-load.js';
import { buildSearchQaData } from './build-data.js';
import { loadSearchQaDataset } from './dataset.js';
import { searchQaTaskDefinition } from './definition.js';
import { type EvaluationSide, findLeaks, type TrainingSide } from './leak-check.js';
import { HELD_OUT_KIND_FAMILIES, HELD_OUT_KIND_TEMPLATES } from './questions/held-out-kinds.js';
import { HELD_OUT_PHRASINGS } from './questions/held-out-phrasings.js';
import { openSearchQaTask, type SearchQaTask } from './search-qa-task.js';
import { HELD_OUT_FAMILIES } from './splits.js';
import type { QuestionRow } from './types.js';
import { warmStartMaterial } from './warm-start.js';

const HELD_OUT_WORDINGS = [...Object.values(HELD_OUT_PHRASINGS).flat(), ...Object.values(HELD_OUT_KIND_TEMPLATES)];
const HELD_OUT = new Set([...HELD_OUT_KIND_FAMILIES, ...HELD_OUT_FAMILIES]);
const EVALUATED = new Set(['test', 'heldout-kinds', 'heldout-phrasings']);

/** The evaluation side of a data set: test and both held-out sets. */
const evaluationOf = (rows: readonly QuestionRow[]): EvaluationSide => ({
  rows: rows.filter((row) => EVALUATED.has(row.split)),
  heldOutWordings: HELD_OUT_WORDINGS,
  heldOutFamilies: HELD_OUT,
});

const row = (id: string, question: string, entity: string, extra: Partial<QuestionRow> = {}) => ({
  id,
  question,
  entity,
  family: 'capital',
  template: 'What is the capital city of {country}?',
  split: 'test' as const,
  ...extra,
});

describe('findLeaks', () => {
  const clean: TrainingSide = {
    rows: [row('capital:fr', 'What is the capital city of France?', 'France')],
    texts: ['<reasoning>Let me look this up.</reasoning>'],
  };
  const evaluation: EvaluationSide = {
    rows: [row('phrasing:capital:ag', "Name Algeria's capital.", 'Algeria')],
    heldOutWordings: ["Name {country}'s capital."],
    heldOutFamilies: new Set(['lowest_point']),
  };

  it('finds nothing in a clean split', () => {
    expect(findLeaks(clean, evaluation)).toEqual([]);
  });

  it('finds an evaluation question among the training rows or inside a training text', () => {
    const asRow = { ...clean, rows: [...clean.rows, row('capital:xx', "name  ALGERIA's capital.", 'Xanadu')] };
    expect(findLeaks(asRow, evaluation).map((leak) => leak.kind)).toContain('question');
    const asText = { ...clean, texts: ["<answer>x</answer> Name Algeria's capital. <tool>"] };
    expect(findLeaks(asText, evaluation)).toEqual([
      { kind: 'question', detail: 'test phrasing:capital:ag appears in a training text' },
    ]);
  });

  it('finds an evaluation entity that training also asks about', () => {
    const leaky = {
      ...clean,
      rows: [...clean.rows, row('currency:ag', 'What currency is used in Algeria?', 'algeria')],
    };
    expect(findLeaks(leaky, evaluation).map((leak) => leak.kind)).toEqual(['entity']);
  });

  it('finds a training question worded as a held-out phrasing, by template or by its text alone', () => {
    const byText = { ...clean, rows: [...clean.rows, row('capital:de', "Name Germany's capital.", 'Germany')] };
    expect(findLeaks(byText, evaluation)).toEqual([
      { kind: 'wording', detail: `training row capital:de is worded as the held-out "Name {country}'s capital."` },
    ]);
    const byTemplate = {
      ...clean,
      rows: [
        row('capital:fr', 'What is the capital city of France?', 'France', { template: "Name {country}'s capital." }),
      ],
    };
    expect(findLeaks(byTemplate, evaluation).map((leak) => leak.kind)).toEqual(['wording']);
  });

  it('finds a held-out question kind among the training families', () => {
    const leaky = {
      ...clean,
      rows: [
        ...clean.rows,
        row('lowest_point:fr', 'What is the lowest point in France?', 'France', { family: 'lowest_point' }),
      ],
    };
    expect(findLeaks(leaky, evaluation).map((leak) => leak.kind)).toEqual(['family']);
  });
});

describe('the built data and the warm start leak no evaluation question', () => {
  const root = mkdtempSync(join(tmpdir(), 'turnwise-leak-'));
  let task: SearchQaTask;
  beforeAll(async () => {
    task = await openSearchQaTask({ tier: 'S', dir: join(root, 'S'), tool: { maxCharacters: 200, k: 1 } });
  });
  afterAll(() => {
    task?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('tier S: training split, demonstrations and pretraining texts against test and both held-out sets', () => {
    const config = resolveConfig(
      deepMerge(
        { task: { tier: 'S', dir: task.dir, warmStart: { demonstrations: 200, corpusCharacters: 200_000 } } },
        {},
      ),
      { tasks: [searchQaTaskDefinition] },
    );
    const { demos, corpus } = warmStartMaterial(config, task, new Random(config.seed));
    const rows = task.dataset('all');
    const training: TrainingSide = {
      rows: [...task.rows('train'), ...demos.map((demo) => demo.row)],
      texts: [...demos.flatMap((demo) => demo.replies), ...corpus],
    };
    const evaluation = evaluationOf(rows);
    expect(evaluation.rows.filter((row) => row.split !== 'test').length).toBe(80);
    expect(demos.length).toBe(200);
    expect(findLeaks(training, evaluation)).toEqual([]);
    // The same check on the same data with one held-out question moved into training fails.
    const moved = rows.find((row) => row.split === 'heldout-phrasings')!;
    const leaks = findLeaks({ ...training, rows: [...training.rows, moved] }, evaluation);
    expect(new Set(leaks.map((leak) => leak.kind))).toEqual(new Set(['question', 'entity', 'wording']));
  });

  it('tier S with varied training wordings: the re-worded training split and its demonstrations', async () => {
    const varied = await openSearchQaTask({ tier: 'S', dir: task.dir, trainingPhrasings: 'varied' });
    try {
      const config = resolveConfig(deepMerge({ task: { tier: 'S', dir: task.dir, trainingPhrasings: 'varied' } }, {}), {
        tasks: [searchQaTaskDefinition],
      });
      const { demos } = warmStartMaterial(config, varied, new Random(config.seed));
      const train = varied.rows('train');
      expect(train.filter((row, i) => row.question !== task.rows('train')[i]!.question).length).toBeGreaterThan(100);
      const training = { rows: [...train, ...demos.map((demo) => demo.row)], texts: demos.flatMap((d) => d.replies) };
      expect(findLeaks(training, evaluationOf(varied.dataset('all')))).toEqual([]);
    } finally {
      varied.close();
    }
  });

  it('tier M: the training split against test and both held-out sets', () => {
    buildSearchQaData({ tier: 'M', dir: join(root, 'M') });
    const rows = loadSearchQaDataset(join(root, 'M'), 'all');
    const evaluation = evaluationOf(rows);
    expect(evaluation.rows.filter((row) => row.split === 'heldout-kinds').length).toBeGreaterThanOrEqual(200);
    expect(evaluation.rows.filter((row) => row.split === 'heldout-phrasings').length).toBeGreaterThanOrEqual(200);
    expect(findLeaks({ rows: rows.filter((row) => row.split === 'train'), texts: [] }, evaluation)).toEqual([]);
  });
});
