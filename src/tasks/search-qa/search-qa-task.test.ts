import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_FILES, toJsonLines } from './data-files.js';
import { openSearchQaTask } from './search-qa-task.js';
import type { CorpusDocument, QuestionRow } from './types.js';

let dir: string;

const CORPUS: CorpusDocument[] = [
  { id: 'elements:1', title: 'Hydrogen (chemical element)', source: 'elements', text: 'Symbol: H\nAtomic number: 1' },
];
const ROWS: QuestionRow[] = [
  {
    id: 'a',
    question: 'What is the chemical symbol of the element hydrogen?',
    answers: ['H'],
    normalizedAnswers: ['h'],
    family: 'element_symbol',
    template: '',
    source: 'elements',
    entity: 'Hydrogen',
    gold: ['elements:1'],
    split: 'train',
  },
  {
    id: 'b',
    question: 'Which chemical element has the atomic number 1?',
    answers: ['Hydrogen'],
    normalizedAnswers: ['hydrogen'],
    family: 'element_by_number',
    template: '',
    source: 'elements',
    entity: 'Hydrogen',
    gold: ['elements:1'],
    split: 'test',
  },
];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'search-qa-task-'));
  writeFileSync(path.join(dir, DATA_FILES.corpus), toJsonLines(CORPUS));
  writeFileSync(path.join(dir, DATA_FILES.questions), toJsonLines(ROWS));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openSearchQaTask', () => {
  it('wires dataset, index, tool and rubric over one data directory', async () => {
    const task = await openSearchQaTask({
      dir,
      tool: { maxCharacters: 200 },
      rubric: { searchAnswer: 'gold', exactMatch: 'normalized' },
    });
    try {
      expect(task.dataset('train').map((row) => row.id)).toEqual(['a']);
      expect(task.dataset().length).toBe(2);
      expect(task.tool.run('hydrogen symbol').text).toBe('Hydrogen (chemical element)\nSymbol: H\nAtomic number: 1');
      expect(task.tool.settings.maxCharacters).toBe(200);
      expect(task.rubric.functions.map((fn) => fn.name)).toEqual([
        'tool_execution',
        'search_answer_gold',
        'answer_presence',
        'exact_match_normalized',
        'xml_format',
        'xml_tags',
      ]);
    } finally {
      task.close();
    }
  });

  it('with searchWorker, answers the tool call from a worker thread with the same text', async () => {
    const plain = await openSearchQaTask({ dir, searchWorker: false });
    const threaded = await openSearchQaTask({ dir, searchWorker: true });
    try {
      const context = { signal: new AbortController().signal, row: ROWS[0] };
      const call = threaded.tool.execute({ query: 'hydrogen symbol' }, context);
      expect(call).toBeInstanceOf(Promise);
      expect(plain.tool.execute({ query: 'hydrogen symbol' }, context)).toBe(await call);
    } finally {
      plain.close();
      threaded.close();
    }
  });

  it('with trainRowsPerFamily, keeps that many training rows of each family, the same ones every time', async () => {
    const capDir = mkdtempSync(path.join(tmpdir(), 'search-qa-task-cap-'));
    const row = (id: string, family: string, split: QuestionRow['split']): QuestionRow => ({
      ...ROWS[0]!,
      id,
      family,
      split,
    });
    const rows = [
      ...Array.from({ length: 9 }, (_, i) => row(`p${i}`, 'instance_person', 'train')),
      ...Array.from({ length: 2 }, (_, i) => row(`s${i}`, 'element_symbol', 'train')),
      ...Array.from({ length: 5 }, (_, i) => row(`t${i}`, 'instance_person', 'test')),
    ];
    writeFileSync(path.join(capDir, DATA_FILES.corpus), toJsonLines(CORPUS));
    writeFileSync(path.join(capDir, DATA_FILES.questions), toJsonLines(rows));
    const all = await openSearchQaTask({ dir: capDir });
    const capped = await openSearchQaTask({ dir: capDir, trainRowsPerFamily: 3 });
    const again = await openSearchQaTask({ dir: capDir, trainRowsPerFamily: 3 });
    try {
      expect(all.rows('train')).toHaveLength(11);
      const kept = capped.rows('train');
      expect(kept.filter((r) => r.family === 'instance_person')).toHaveLength(3);
      expect(kept.filter((r) => r.family === 'element_symbol')).toHaveLength(2);
      expect(again.rows('train')).toEqual(kept);
      // In their original order, and the evaluation splits untouched.
      expect(
        all
          .rows('train')
          .filter((r) => kept.some((k) => k.id === r.id))
          .map((r) => r.id),
      ).toEqual(kept.map((r) => r.id));
      expect(capped.rows('test')).toHaveLength(5);
    } finally {
      for (const task of [all, capped, again]) task.close();
      rmSync(capDir, { recursive: true, force: true });
    }
  });

  it('refuses a directory without questions when building is turned off', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'search-qa-task-empty-'));
    try {
      await expect(openSearchQaTask({ dir: empty, buildIfMissing: false })).rejects.toThrow(
        /no questions\.jsonl; run `turnwise data build/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('openSearchQaTask on data of an older format', () => {
  it('rebuilds generated data whose manifest names an older format, so the held-out sets appear', async () => {
    const old = mkdtempSync(path.join(tmpdir(), 'search-qa-old-'));
    try {
      writeFileSync(path.join(old, DATA_FILES.corpus), toJsonLines(CORPUS));
      writeFileSync(path.join(old, DATA_FILES.questions), toJsonLines(ROWS));
      writeFileSync(path.join(old, DATA_FILES.manifest), JSON.stringify({ format: 'turnwise-search-qa/1', tier: 'S' }));
      await expect(openSearchQaTask({ tier: 'S', dir: old, buildIfMissing: false })).rejects.toThrow(
        /holds data of format "turnwise-search-qa\/1", expected turnwise-search-qa\/4; run `turnwise data build/,
      );
      const lines: string[] = [];
      const task = await openSearchQaTask({ tier: 'S', dir: old, onProgress: (line) => lines.push(line) });
      try {
        expect(lines[0]).toMatch(/^building search-QA data tier S in .* \(it holds data of format/);
        expect(task.rows('heldout-kinds').length).toBe(40);
        expect(task.rows('heldout-phrasings').length).toBe(40);
      } finally {
        task.close();
      }
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });
});
