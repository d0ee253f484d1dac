import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../../env/run-tool.js';
import { DataError } from '../../errors.js';
import { DATA_FILES, toJsonLines } from './data-files.js';
import { openSearchIndex, type SearchHit, type SearchIndex, type SearchOptions } from './search-index.js';
import { type BackgroundSearch, SearchWorker } from './search-worker.js';
import type { CorpusDocument } from './types.js';
import { createWikiSearchTool } from './wiki-search-tool.js';

const CORPUS: CorpusDocument[] = [
  { id: 'a', title: 'France - Government', source: 't', text: 'National anthem: La Marseillaise. Capital: Paris.' },
  { id: 'b', title: 'Germany - Geography', source: 't', text: 'Elevation extremes: highest point: Zugspitze 2,963 m' },
  { id: 'c', title: 'Marseillaise', source: 't', text: 'the national anthem of France, written in 1792' },
  ...['Danube river', 'Mount Everest', 'Ada Lovelace', 'Iron element', 'Tokyo city', 'Paris city'].map((title, i) => ({
    id: `o${i}`,
    title,
    source: 't',
    text: `${title} is described here in a few words.`,
  })),
];

// Real queries of the demo's rollouts have this shape: templates, typos, repeated fragments.
const QUERIES = [
  'What is the national anthem of France?',
  'Which city is described as follows: capital of France',
  'highest point Germany',
  'anthem anthem anthem',
  'Parisss city of the',
  '"NEAR(a b)" OR * ^ :title',
  'of the',
  '',
  'zzzz nothing',
];

let dir: string;
let index: SearchIndex;
let worker: SearchWorker;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'search-worker-'));
  writeFileSync(path.join(dir, DATA_FILES.corpus), toJsonLines(CORPUS));
  index = await openSearchIndex(dir);
  worker = await SearchWorker.open(index.path);
}, 30_000);

afterAll(async () => {
  await worker.close();
  index.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SearchWorker', () => {
  it('returns the hits the index returns on the main thread, in the same order', async () => {
    for (const options of [{ k: 1 }, { k: 3 }, { k: 2, unit: 'document' }] as SearchOptions[]) {
      for (const query of QUERIES) {
        expect(await worker.search(query, options)).toEqual(index.search(query, options));
      }
    }
    expect((await worker.search('anthem', { k: 3 })).map((hit) => hit.docId).sort()).toEqual(['a', 'c']);
  });

  it('answers concurrent searches each with its own hits', async () => {
    const all = await Promise.all(QUERIES.map((query) => worker.search(query, { k: 2 })));
    expect(all).toEqual(QUERIES.map((query) => index.search(query, { k: 2 })));
  });

  it('refuses a file that is not an index in one line naming it', async () => {
    const bogus = path.join(dir, 'not-an-index.sqlite');
    writeFileSync(bogus, 'plain text');
    const opening = SearchWorker.open(bogus);
    await expect(opening).rejects.toThrow(DataError);
    await expect(opening).rejects.toThrow(/search worker for .*not-an-index\.sqlite: /);
  });

  it('fails searches after close, and the tool turns that into an Error: result', async () => {
    const closing = await SearchWorker.open(index.path);
    await closing.close();
    await expect(closing.search('anthem', { k: 1 })).rejects.toThrow(/is closed/);
    const tool = createWikiSearchTool(index, { background: closing });
    const run = await runTool(
      tool,
      { name: 'wiki_search', arguments: { query: 'anthem' } },
      { timeoutMs: 5000, row: {} },
    );
    expect(run.output).toMatch(/^Error: .*during search: search worker for .* is closed$/);
  });

  it('does not keep a process alive once its searches are answered', () => {
    const script =
      `import { SearchWorker } from ${JSON.stringify(path.resolve('src/tasks/search-qa/search-worker.ts'))};` +
      `const worker = await SearchWorker.open(${JSON.stringify(index.path)});` +
      `console.log((await worker.search('anthem', { k: 1 }))[0].docId);`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toMatch(/^[ac]$/);
    expect(child.status).toBe(0);
  }, 30_000);
});

describe('wiki_search with a background search', () => {
  it('shows the same text as the synchronous tool, and the rubric re-run gets the same results', async () => {
    const plain = createWikiSearchTool(index, { k: 2 });
    const background = createWikiSearchTool(index, { k: 2, background: worker });
    for (const query of QUERIES) {
      const shown = await background.execute({ query }, { signal: new AbortController().signal, row: {} });
      expect(shown).toBe(plain.run(query).text);
      expect(background.run(query).text).toBe(shown);
    }
  });

  it('shares one search between concurrent calls of a query and then serves it from the memo', async () => {
    const calls: string[] = [];
    const counting: BackgroundSearch = {
      search(query: string, options: SearchOptions): Promise<SearchHit[]> {
        calls.push(query);
        return worker.search(query, options);
      },
    };
    const tool = createWikiSearchTool(index, { background: counting });
    const context = { signal: new AbortController().signal, row: {} };
    const texts = await Promise.all([1, 2, 3].map(() => tool.execute({ query: 'national anthem' }, context)));
    expect(new Set(texts).size).toBe(1);
    expect(await tool.execute({ query: 'national anthem' }, context)).toBe(texts[0]);
    expect(calls).toEqual(['national anthem']);
  });

  it('turns a failed background search into an Error: result and searches again next time', async () => {
    let fail = true;
    const flaky: BackgroundSearch = {
      search: (query, options) =>
        fail ? Promise.reject(new DataError('index damaged')) : worker.search(query, options),
    };
    const tool = createWikiSearchTool(index, { background: flaky });
    const call = { name: 'wiki_search', arguments: { query: 'anthem' } };
    const first = await runTool(tool, call, { timeoutMs: 5000, row: {} });
    expect(first.output).toBe('Error: during search: index damaged');
    fail = false;
    const second = await runTool(tool, call, { timeoutMs: 5000, row: {} });
    expect(second).toEqual({ output: tool.run('anthem').text });
    expect(second.output).toMatch(/anthem/);
  });
});
