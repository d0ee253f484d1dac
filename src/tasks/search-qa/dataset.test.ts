import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_FILES, toJsonLines } from './data-files.js';
import { loadSearchQaDataset } from './dataset.js';

const row = {
  id: 'q1',
  question: 'Q?',
  answers: ['A'],
  normalizedAnswers: ['a'],
  family: 'f',
  template: '',
  source: 's',
  entity: 'E',
  gold: [],
  split: 'dev',
};
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'search-qa-dataset-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadSearchQaDataset', () => {
  it('filters by split', () => {
    writeFileSync(path.join(dir, DATA_FILES.questions), toJsonLines([row, { ...row, id: 'q2', split: 'train' }]));
    expect(loadSearchQaDataset(dir, 'train').map((item) => item.id)).toEqual(['q2']);
    expect(loadSearchQaDataset(dir, 'all')).toHaveLength(2);
  });

  it('names the line and the field of an invalid row', () => {
    writeFileSync(path.join(dir, DATA_FILES.questions), toJsonLines([row, { ...row, answers: [] }]));
    expect(() => loadSearchQaDataset(dir)).toThrow(/questions\.jsonl:2: field answers: /);
    writeFileSync(path.join(dir, DATA_FILES.questions), toJsonLines([{ ...row, split: 'validation' }]));
    expect(() => loadSearchQaDataset(dir)).toThrow(/:1: field split/);
  });

  it('says how to build the data when there is none', () => {
    expect(() => loadSearchQaDataset(path.join(dir, 'missing'))).toThrow(/run `turnwise data build` first/);
  });
});
