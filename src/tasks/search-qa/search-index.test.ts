import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_FILES, toJsonLines } from './data-files.js';
import { openSearchIndex, type SearchIndex } from './search-index.js';
import type { CorpusDocument } from './types.js';

const CORPUS: CorpusDocument[] = [
  {
    id: 'factbook:fr/Government',
    title: 'France - Government',
    source: 'factbook',
    text:
      'Country name: conventional long form: French Republic\n' +
      'Capital: name: Paris\nNational anthem: name: "La Marseillaise"',
  },
  {
    id: 'factbook:gm/Geography',
    title: 'Germany - Geography',
    source: 'factbook',
    text:
      'Elevation extremes: lowest point: Neuendorf bei Wilster -3.54 m\n' +
      'Elevation extremes: highest point: Zugspitze 2,963 m',
  },
  {
    id: 'elements:43',
    title: 'Technetium (chemical element)',
    source: 'elements',
    text: 'Symbol: Tc\nAtomic number: 43\nDiscovered by: Emilio Segrè\nTechnetium is a chemical element.',
  },
  {
    id: 'wordnet:11400918',
    title: 'Wellington (general)',
    source: 'wordnet',
    text:
      'British general and statesman; he defeated Napoleon at Waterloo; subsequently ' +
      'served as Prime Minister (1769-1852)\nAlso called: Duke of Wellington, Iron Duke',
  },
  {
    id: 'wordnet:08952341',
    title: 'Paris (national capital)',
    source: 'wordnet',
    text: 'the capital and largest city of France\nPart of: France',
  },
  {
    id: 'wordnet:03192279',
    title: 'dial telephone',
    source: 'wordnet',
    text: 'a telephone with a dial for registering the number to be called\nAlso called: dial phone\nKind of: telephone',
  },
  {
    id: 'factbook:ag/Communications',
    title: 'Algeria - Communications',
    source: 'factbook',
    text: 'Telephones - fixed lines: total subscriptions: 3.1 million\nTelephone system: international: country code - 213',
  },
  {
    id: 'factbook:rn/Communications',
    title: 'Saint Martin - Communications',
    source: 'factbook',
    text:
      'Telephone system: domestic: direct dial capability with both fixed and wireless systems\n' +
      'Telephone system: international: country code - 590; dial it from abroad',
  },
];

let dir: string;
let index: SearchIndex;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'search-qa-index-'));
  writeFileSync(path.join(dir, DATA_FILES.corpus), toJsonLines(CORPUS));
  index = await openSearchIndex(dir);
});

afterAll(() => {
  index.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('search index ranking', () => {
  it('ranks the document that answers a known query first', () => {
    expect(index.search('highest point Germany elevation')[0]!.docId).toBe('factbook:gm/Geography');
    expect(index.search('Who discovered technetium?')[0]!.docId).toBe('elements:43');
    expect(index.search('general who defeated Napoleon at Waterloo')[0]!.docId).toBe('wordnet:11400918');
    expect(
      index
        .search('capital city France')
        .slice(0, 2)
        .map((hit) => hit.docId)
        .sort(),
    ).toEqual(['factbook:fr/Government', 'wordnet:08952341']);
  });

  it("ranks the page whose title names the question's entity over one that repeats its other words", () => {
    const question = 'Which country code do you dial to telephone Algeria from abroad?';
    expect(index.search(question)[0]!.docId).toBe('factbook:ag/Communications');
  });

  it('matches across accents and word forms', () => {
    expect(index.search('segre')[0]!.docId).toBe('elements:43');
    expect(index.search('defeating napoleons')[0]!.docId).toBe('wordnet:11400918');
  });

  it('returns at most k distinct documents with positive scores in rank order', () => {
    const hits = index.search('France capital Paris general element', { k: 3 });
    expect(hits).toHaveLength(3);
    expect(new Set(hits.map((hit) => hit.docId)).size).toBe(3);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
  });

  it('returns the whole document in document mode', () => {
    const [hit] = index.search('Zugspitze', { k: 1, unit: 'document' });
    expect(hit!.text).toBe(CORPUS[1]!.text);
  });
});

describe('search index hostile queries', () => {
  const hostile = [
    '"',
    '"unbalanced quote',
    '((France',
    'France)',
    'NEAR(France Paris)',
    'NEAR',
    'France NEAR/2 Paris',
    '*',
    'Fran*',
    'title:France',
    'body : Paris',
    '^France',
    'AND OR NOT',
    "'; DROP TABLE passages; --",
    '\u0000\uffff\ud800',
    '🙂 日本 العربية',
    'x'.repeat(10_000),
    'France '.repeat(1500),
  ];
  for (const query of hostile) {
    it(`never throws on ${JSON.stringify(query.slice(0, 30))}${query.length > 30 ? '...' : ''}`, () => {
      expect(() => index.search(query)).not.toThrow();
    });
  }

  it('returns nothing for queries without searchable words', () => {
    expect(index.search('')).toEqual([]);
    expect(index.search('   ')).toEqual([]);
    expect(index.search('"()*:^')).toEqual([]);
    expect(index.search('who is the')).toEqual([]);
  });

  it('still finds the words inside operator syntax', () => {
    expect(index.search('NEAR(Zugspitze)')[0]!.docId).toBe('factbook:gm/Geography');
    expect(index.search('title:Technetium*')[0]!.docId).toBe('elements:43');
  });
});

describe('search index cache', () => {
  it('reuses the index while the corpus is unchanged and rebuilds it when the corpus changes', async () => {
    const indexPath = path.join(dir, DATA_FILES.index);
    const before = statSync(indexPath).mtimeMs;
    const same = await openSearchIndex(dir);
    same.close();
    expect(statSync(indexPath).mtimeMs).toBe(before);

    const changedDir = mkdtempSync(path.join(tmpdir(), 'search-qa-index-changed-'));
    try {
      writeFileSync(path.join(changedDir, DATA_FILES.corpus), toJsonLines(CORPUS));
      const first = await openSearchIndex(changedDir);
      expect(first.search('Kilimanjaro')).toEqual([]);
      first.close();
      const extra = {
        id: 'x:1',
        title: 'Tanzania - Geography',
        source: 'test',
        text: 'highest point: Kilimanjaro 5,895 m',
      };
      writeFileSync(path.join(changedDir, DATA_FILES.corpus), toJsonLines([...CORPUS, extra]));
      const second = await openSearchIndex(changedDir);
      expect(second.search('Kilimanjaro')[0]!.docId).toBe('x:1');
      expect(second.documentCount).toBe(CORPUS.length + 1);
      second.close();
    } finally {
      rmSync(changedDir, { recursive: true, force: true });
    }
  });

  it('names the missing files when a directory has no corpus and no index', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'search-qa-empty-'));
    try {
      await expect(openSearchIndex(empty)).rejects.toThrow(/corpus\.jsonl.*index\.sqlite.*turnwise data build/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
