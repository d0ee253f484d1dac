import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../../env/run-tool.js';
import { toolArguments } from '../../env/tool-schema.js';
import { DATA_FILES, toJsonLines } from './data-files.js';
import { openSearchIndex, type SearchIndex } from './search-index.js';
import type { CorpusDocument } from './types.js';
import {
  createWikiSearchTool,
  DEFAULT_EMPTY_MESSAGE,
  runWikiSearch,
  SEARCH_MEMO_SIZE,
  WIKI_SEARCH_DESCRIPTION,
} from './wiki-search-tool.js';

const filler = (n: number) =>
  Array.from({ length: n }, (_, i) => `Filler line ${i} about nothing in particular, with several words.`).join('\n');

const CORPUS: CorpusDocument[] = [
  // The answer sits at the end of a long document: a head cut loses it, a passage keeps it.
  {
    id: 'factbook:fr/Government',
    title: 'France - Government',
    source: 'factbook',
    text: `${filler(60)}\nNational anthem: name: "La Marseillaise" (The Song of Marseille)`,
  },
  {
    id: 'factbook:gm/Geography',
    title: 'Germany - Geography',
    source: 'factbook',
    text: 'Elevation extremes: highest point: Zugspitze 2,963 m',
  },
  { id: 'wordnet:1', title: 'Marseillaise', source: 'wordnet', text: 'the national anthem of France' },
  // Unrelated documents, so that BM25's document frequencies behave as in a real corpus.
  ...['Danube river', 'Mount Everest', 'Ada Lovelace', 'Iron element', 'Tokyo city'].map((title, i) => ({
    id: `other:${i}`,
    title,
    source: 'test',
    text: `${title} is described here in a few words.`,
  })),
];

let dir: string;
let index: SearchIndex;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'search-qa-tool-'));
  writeFileSync(path.join(dir, DATA_FILES.corpus), toJsonLines(CORPUS));
  index = await openSearchIndex(dir);
});

afterAll(() => {
  index.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('createWikiSearchTool', () => {
  it('is named wiki_search with the paper description and a described query argument', () => {
    const tool = createWikiSearchTool(index);
    expect(tool.name).toBe('wiki_search');
    expect(tool.description).toBe(WIKI_SEARCH_DESCRIPTION);
    const [query] = toolArguments(tool);
    expect(query!.name).toBe('query');
    expect(query!.description.length).toBeGreaterThan(0);
  });

  it('shows the answer-bearing passage within a small budget', async () => {
    const tool = createWikiSearchTool(index, { maxCharacters: 600, k: 2 });
    const output = String(
      await tool.execute(
        { query: 'name of the national anthem of France' },
        { signal: new AbortController().signal, row: {} },
      ),
    );
    expect(output.length).toBeLessThanOrEqual(600);
    expect(output).toContain('France - Government\n');
    expect(output).toContain('National anthem: name: "La Marseillaise"');
    expect(output).not.toContain('Filler line 0 '); // the passage, not the head of the 600-word document
  });

  it('loses the answer when the head of the whole document is cut to the same budget (paper mode)', () => {
    const tool = createWikiSearchTool(index, { unit: 'document', k: 1, maxCharacters: 600 });
    const result = tool.run('national anthem France Marseille song');
    expect(result.shown[0]!.hit.docId).toBe('factbook:fr/Government');
    expect(result.text).not.toContain('La Marseillaise');
    expect(result.text.length).toBeLessThanOrEqual(600);
  });

  it('with window query, shows a hit the budget cuts from the line that matches the query', () => {
    const query = 'France government national anthem name';
    const start = createWikiSearchTool(index, { k: 2, maxCharacters: 300 }).run(query);
    const focused = createWikiSearchTool(index, { k: 2, maxCharacters: 300, window: 'query' }).run(query);
    expect(start.shown.map((shown) => shown.hit.docId)).toEqual(['wordnet:1', 'factbook:fr/Government']);
    expect(start.text).not.toContain('National anthem: name');
    expect(focused.text).toContain('France - Government\n... National anthem: name: "La Marseillaise"');
    expect(focused.text.length).toBeLessThanOrEqual(300);
    // A hit that fits the budget is shown whole, from its first line, in either window.
    const fits = createWikiSearchTool(index, { k: 1, maxCharacters: 150, window: 'query' }).run('Zugspitze highest');
    expect(fits.text).toBe('Germany - Geography\nElevation extremes: highest point: Zugspitze 2,963 m');
  });

  it('returns whole documents with no budget (paper-exact top-1 article)', () => {
    const tool = createWikiSearchTool(index, { unit: 'document', k: 1, maxCharacters: Infinity });
    const result = tool.run('Marseille song');
    expect(result.text).toBe(`${CORPUS[0]!.title}\n${CORPUS[0]!.text}`);
  });

  it('respects a token budget measured by the given counter', () => {
    const countTokens = (text: string) => text.split(/\s+/).filter(Boolean).length;
    const tool = createWikiSearchTool(index, { maxTokens: 30, countTokens, k: 3 });
    const result = tool.run('national anthem');
    expect(countTokens(result.text)).toBeLessThanOrEqual(30);
    expect(result.shown.length).toBeGreaterThan(0);
  });

  it('answers queries without searchable words with the configurable empty message', async () => {
    expect(createWikiSearchTool(index).run('"()"').text).toBe(DEFAULT_EMPTY_MESSAGE);
    const paper = createWikiSearchTool(index, { emptyMessage: 'No relevant Wikipedia content found.' });
    expect(paper.run('').text).toBe('No relevant Wikipedia content found.');
    expect(paper.run('zzzqqq').text).toBe('No relevant Wikipedia content found.');
  });

  it('runs through the environment tool runner: hostile input succeeds, a bad argument becomes Error:', async () => {
    const tool = createWikiSearchTool(index);
    const hostile = await runTool(
      tool,
      { name: 'wiki_search', arguments: { query: 'NEAR("France" OR title:*' } },
      { timeoutMs: 1000, row: {} },
    );
    expect(hostile.failure).toBeUndefined();
    expect(hostile.output).toContain('France');
    const wrongType = await runTool(
      tool,
      { name: 'wiki_search', arguments: { query: 42 } },
      { timeoutMs: 1000, row: {} },
    );
    expect(wrongType.output.startsWith('Error:')).toBe(true);
  });

  it('keeps results of repeated queries, equal to a fresh search and frozen against changes', () => {
    const tool = createWikiSearchTool(index, { k: 2, maxCharacters: 600 });
    const first = tool.run('national anthem of France');
    expect(tool.run('national anthem of France')).toBe(first);
    expect(first).toEqual(runWikiSearch(index, 'national anthem of France', tool.settings));
    expect(Object.isFrozen(first.shown)).toBe(true);
    expect(() => (first.shown as unknown[]).push(1)).toThrow(TypeError);
    // Past the memo's size the oldest query is searched again (an equal, new object).
    for (let i = 0; i < SEARCH_MEMO_SIZE; i++) tool.run(`filler ${i}`);
    const again = tool.run('national anthem of France');
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });
});
