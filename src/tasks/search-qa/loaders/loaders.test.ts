import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../../../errors.js';
import { openSearchIndex } from '../search-index.js';
import type { QuestionRow } from '../types.js';
import { streamJsonArrayElements } from './json-array-stream.js';
import { importKiltWikipedia, readKiltArticles } from './kilt-wikipedia.js';
import { readTriviaQa, type TriviaQaSkipCounts } from './triviaqa.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '__fixtures__');
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'search-qa-loaders-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('TriviaQA loaders', () => {
  it('reads the published rc JSON: aliases, normalised aliases, entity-page titles, split from the file', async () => {
    const skipped: TriviaQaSkipCounts = { withoutAnswer: 0 };
    const rows = await collect(readTriviaQa(path.join(fixtures, 'triviaqa-rc-sample.json'), {}, skipped));
    expect(rows.map((row) => row.id)).toEqual(['tc_33', 'tc_40', 'sfq_1']);
    expect(skipped.withoutAnswer).toBe(1);
    const first = rows[0]!;
    expect(first.answers[0]).toBe('Sunset Boulevard');
    expect(first.answers).toContain('Sunset Blvd.');
    expect(first.normalizedAnswers).toEqual([
      'west sunset boulevard',
      'sunset blvd',
      'sunset boulevard',
      'sunset bulevard',
    ]);
    expect(first.goldTitles).toEqual(['Andrew Lloyd Webber']);
    expect(first.split).toBe('dev');
    expect(rows[1]!.question).toBe('Who was the man behind "The Chipmunks"?');
  });

  it('reads the Hugging Face parquet export to the same rows', async () => {
    const fromJson = await collect(readTriviaQa(path.join(fixtures, 'triviaqa-rc-sample.json'), { split: 'train' }));
    const fromParquet = await collect(
      readTriviaQa(path.join(fixtures, 'triviaqa-rc-sample.parquet'), { split: 'train' }),
    );
    expect(fromParquet).toEqual(fromJson);
  });

  it('rejects unknown extensions and missing files with the expected formats named', () => {
    expect(() => readTriviaQa('questions.csv')).toThrow(/\.json .*\.parquet/);
    return expect(collect(readTriviaQa(path.join(scratch, 'missing.json')))).rejects.toThrow(DataError);
  });
});

describe('streamJsonArrayElements', () => {
  it('finds the array after other keys, across tiny reads, with braces and escapes inside strings', async () => {
    const file = path.join(scratch, 'tricky.json');
    const data = [{ a: 'x}]"{[\\', b: [1, { c: '日本' }] }, { a: 'Data' }];
    writeFileSync(file, JSON.stringify({ Version: 1, Other: [{ Data: [9] }], Data: data, Split: 'dev' }));
    for (const chunkBytes of [1, 2, 3, 7, 64, 1 << 20]) {
      expect(await collect(streamJsonArrayElements(file, 'Data', chunkBytes)), `chunks of ${chunkBytes}`).toEqual(data);
    }
  });

  it('reports a truncated file and a missing key', async () => {
    const truncated = path.join(scratch, 'truncated.json');
    writeFileSync(truncated, '{"Data": [{"a": 1}, {"b": ');
    await expect(collect(streamJsonArrayElements(truncated, 'Data'))).rejects.toThrow(/truncated/);
    const noKey = path.join(scratch, 'nokey.json');
    writeFileSync(noKey, '{"Rows": []}');
    await expect(collect(streamJsonArrayElements(noKey, 'Data'))).rejects.toThrow(/array under "Data"/);
  });
});

describe('KILT Wikipedia import', () => {
  it('streams articles with section and bullet markers removed and the title paragraph dropped', async () => {
    const articles = await collect(readKiltArticles(path.join(fixtures, 'kilt-wikipedia-sample.jsonl')));
    expect(articles).toHaveLength(4);
    expect(articles[0]!.id).toBe('kilt:1160');
    expect(articles[0]!.title).toBe('Andrew Lloyd Webber');
    expect(articles[0]!.text.split('\n')[1]).toBe('Career.');
    expect(articles[0]!.text).toContain('\n- "Cats" (1981)');
    expect(articles[0]!.text.startsWith('Andrew Lloyd Webber, Baron')).toBe(true);
  });

  it('builds an index that answers TriviaQA questions through their gold titles, with progress output', async () => {
    const dir = path.join(scratch, 'kilt');
    const progress: string[] = [];
    const counts = await importKiltWikipedia(path.join(fixtures, 'kilt-wikipedia-sample.jsonl'), dir, {
      onProgress: (line) => progress.push(line),
      progressEvery: 2,
    });
    expect(counts.documents).toBe(4);
    expect(progress.some((line) => /2 articles, .* MB, .* articles\/s/.test(line))).toBe(true);
    const index = await openSearchIndex(dir);
    try {
      const rows: QuestionRow[] = await collect(readTriviaQa(path.join(fixtures, 'triviaqa-rc-sample.json')));
      const [top] = index.search(rows[1]!.question, { k: 1 });
      expect(top!.title).toBe('Ross Bagdasarian');
      expect(rows[1]!.goldTitles).toContain(top!.title);
      expect(index.search('Lloyd Webber musical premiered US 1993')[0]!.title).toBe('Andrew Lloyd Webber');
    } finally {
      index.close();
    }
  });

  it('stops after maxArticles and names a malformed line', async () => {
    expect(
      await collect(readKiltArticles(path.join(fixtures, 'kilt-wikipedia-sample.jsonl'), { maxArticles: 2 })),
    ).toHaveLength(2);
    const bad = path.join(scratch, 'bad.jsonl');
    writeFileSync(bad, '{"wikipedia_id": "1", "wikipedia_title": "A", "text": ["A"]}\n{"wikipedia_title": 5}\n');
    await expect(collect(readKiltArticles(bad))).rejects.toThrow(/line 2: expected wikipedia_id/);
  });
});
