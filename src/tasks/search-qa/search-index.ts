/**
 * The search index of the search-QA task: SQLite FTS5 with BM25 ranking (better-sqlite3), one row
 * per passage, cached on disk as `index.sqlite` next to the corpus. `openSearchIndex` rebuilds it
 * when the corpus's content hash or the passage settings differ from those it was built from, so a
 * changed corpus is never searched through a stale index. Builds go to a temporary file first.
 * Every open runs SQLite's `quick_check`: a damaged index is rebuilt from the corpus (saying so), or,
 * without a corpus (an imported Wikipedia), refused in one line; a search that still meets damage
 * fails with a DataError naming the file.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DataError } from '../../errors.js';
import { DATA_FILES, readJsonLines } from './data-files.js';
import { toFtsExpression } from './fts-query.js';
import { DEFAULT_PASSAGE_OPTIONS, type PassageOptions, splitPassages } from './passages.js';
import type { CorpusDocument } from './types.js';

/** One ranked result: the best passage of a document (or the whole document). */
export interface SearchHit {
  docId: string;
  title: string;
  /** The best-matching passage, or the whole document text when `unit` is `document`. */
  text: string;
  /** BM25 score of the best passage (higher is better). */
  score: number;
  /** Index of the best passage within its document. */
  passage: number;
  source: string;
}

/** Options of one search. */
export interface SearchOptions {
  /** Number of distinct documents to return (default 5). */
  k?: number;
  /** `passage` (default): each hit carries its best passage; `document`: the whole document text. */
  unit?: 'passage' | 'document';
}

/** An open search index. */
export interface SearchIndex {
  /** Path of the SQLite file. */
  readonly path: string;
  readonly documentCount: number;
  readonly passageCount: number;
  /** Top-k documents for a free-text query; never throws on query syntax, [] when nothing matches. */
  search(query: string, options?: SearchOptions): SearchHit[];
  /** A document by id. */
  document(id: string): CorpusDocument | undefined;
  close(): void;
}

/** Options of `openSearchIndex` and `buildSearchIndex`. */
export interface IndexOptions {
  /** Passage sizes used when the index is built (part of the cache key). */
  passages?: PassageOptions;
  /** Progress lines while an index is built. */
  onProgress?: (message: string) => void;
}

const FORMAT = 'turnwise-fts/1';
const TOKENIZER = 'porter unicode61 remove_diacritics 2';
// BM25 column weights: a title match counts 25 times a body match, so that the page whose title
// names a question's entity ("Algeria - Communications") outranks pages that merely repeat the
// question's other words ("dial telephone"). Chosen on the training and dev splits with the
// question as the query (`turnwise data stats`): gold@1 train 0.753 (weight 1.5) -> 0.894 (10) ->
// 0.921 (25), dev 0.900 (1.5) -> 0.942 (10) -> 0.955 (25) -> 0.957 (60).
const TITLE_WEIGHT = 25;
const BODY_WEIGHT = 1;

/**
 * Opens the index of a data directory, building it first if it is missing or was built from another
 * corpus. A directory without corpus.jsonl but with an index (e.g. an imported Wikipedia) is opened as is.
 */
export async function openSearchIndex(dir: string, options: IndexOptions = {}): Promise<SearchIndex> {
  const indexPath = path.join(dir, DATA_FILES.index);
  const corpusPath = path.join(dir, DATA_FILES.corpus);
  const passageOptions = options.passages ?? DEFAULT_PASSAGE_OPTIONS;
  if (!existsSync(corpusPath)) {
    if (!existsSync(indexPath)) {
      throw new DataError(
        `search index: ${dir} has neither ${DATA_FILES.corpus} ` +
          `nor ${DATA_FILES.index}; run \`turnwise data build\` first`,
      );
    }
    const damage = integrityProblem(indexPath);
    if (damage !== undefined)
      throw new DataError(
        `search index ${indexPath} is damaged (SQLite quick_check: ${damage}) and ${dir} has no ` +
          `${DATA_FILES.corpus} to rebuild it from; import it again with --overwrite`,
      );
    return openSearchIndexFile(indexPath);
  }
  const corpusKey = await corpusContentKey(dir);
  const wanted = { format: FORMAT, corpus: corpusKey, passages: JSON.stringify(passageOptions) };
  if (existsSync(indexPath) && metaMatches(indexPath, wanted)) {
    const damage = integrityProblem(indexPath);
    if (damage === undefined) return openSearchIndexFile(indexPath);
    options.onProgress?.(
      `search index ${indexPath} is damaged (SQLite quick_check: ${damage}); rebuilding it from ${DATA_FILES.corpus}`,
    );
  }
  options.onProgress?.(`building search index ${indexPath}`);
  await buildSearchIndex(readCorpus(corpusPath), indexPath, { ...options, corpusKey });
  return openSearchIndexFile(indexPath);
}

/** Builds an index file from a stream of documents (atomically: temp file, then rename). */
export async function buildSearchIndex(
  documents: AsyncIterable<CorpusDocument> | Iterable<CorpusDocument>,
  indexPath: string,
  options: IndexOptions & { corpusKey: string },
): Promise<{ documents: number; passages: number }> {
  const passageOptions = options.passages ?? DEFAULT_PASSAGE_OPTIONS;
  const temporary = `${indexPath}.tmp-${process.pid}`;
  rmSync(temporary, { force: true });
  const database = new Database(temporary);
  try {
    database.pragma('journal_mode = OFF');
    database.pragma('synchronous = OFF');
    database.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE documents (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, \
text TEXT NOT NULL, source TEXT NOT NULL);
      CREATE VIRTUAL TABLE passages USING fts5(title, body, doc UNINDEXED, part UNINDEXED, tokenize = '${TOKENIZER}');
    `);
    const insertDocument = database.prepare(
      'INSERT INTO documents (rowid, id, title, text, source) VALUES (?, ?, ?, ?, ?)',
    );
    const insertPassage = database.prepare('INSERT INTO passages (title, body, doc, part) VALUES (?, ?, ?, ?)');
    let documentCount = 0;
    let passageCount = 0;
    let batch: CorpusDocument[] = [];
    const flush = database.transaction((items: CorpusDocument[]) => {
      for (const document of items) {
        documentCount += 1;
        insertDocument.run(documentCount, document.id, document.title, document.text, document.source);
        splitPassages(document.text, passageOptions).forEach((passage, part) => {
          insertPassage.run(document.title, passage, documentCount, part);
          passageCount += 1;
        });
      }
    });
    for await (const document of documents) {
      batch.push(document);
      if (batch.length >= 5000) {
        flush(batch);
        batch = [];
        options.onProgress?.(`indexed ${documentCount} documents, ${passageCount} passages`);
      }
    }
    flush(batch);
    database.exec("INSERT INTO passages (passages) VALUES ('optimize')");
    const setMeta = database.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    setMeta.run('format', FORMAT);
    setMeta.run('corpus', options.corpusKey);
    setMeta.run('passages', JSON.stringify(passageOptions));
    setMeta.run('documents', String(documentCount));
    setMeta.run('passage_count', String(passageCount));
    database.close();
    renameSync(temporary, indexPath);
    options.onProgress?.(`index done: ${documentCount} documents, ${passageCount} passages`);
    return { documents: documentCount, passages: passageCount };
  } catch (error) {
    if (database.open) database.close();
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** The key an index records for its corpus: the sha256 of corpus.jsonl (about 0.1 s for tier M). */
export async function corpusContentKey(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path.join(dir, DATA_FILES.corpus))) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

async function* readCorpus(corpusPath: string): AsyncGenerator<CorpusDocument> {
  let line = 0;
  for await (const record of readJsonLines(corpusPath)) {
    line += 1;
    const document = record as Partial<CorpusDocument>;
    if (typeof document.id !== 'string' || typeof document.title !== 'string' || typeof document.text !== 'string') {
      throw new DataError(`${corpusPath}: record ${line} needs string fields id, title and text`);
    }
    yield {
      id: document.id,
      title: document.title,
      text: document.text,
      source: typeof document.source === 'string' ? document.source : 'unknown',
    };
  }
}

function metaMatches(indexPath: string, wanted: Record<string, string>): boolean {
  let database: Database.Database | undefined;
  try {
    database = new Database(indexPath, { readonly: true, fileMustExist: true });
    const rows = database.prepare('SELECT key, value FROM meta').all() as Array<{ key: string; value: string }>;
    const meta = new Map(rows.map((row) => [row.key, row.value]));
    return Object.entries(wanted).every(([key, value]) => meta.get(key) === value);
  } catch {
    return false; // unreadable or foreign file: rebuild
  } finally {
    database?.close();
  }
}

/** SQLite's own quick_check of an index file: undefined when it is intact, else the first problem. */
export function integrityProblem(indexPath: string): string | undefined {
  let database: Database.Database | undefined;
  try {
    database = new Database(indexPath, { readonly: true, fileMustExist: true });
    const rows = database.pragma('quick_check(3)') as Array<{ quick_check: string }>;
    const problems = rows.map((row) => row.quick_check).filter((line) => line !== 'ok');
    return problems.length === 0 ? undefined : problems.join('; ').replace(/\s+/g, ' ').slice(0, 200);
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  } finally {
    database?.close();
  }
}

/** Runs a query of the index, turning SQLite's errors (a page damaged since open) into a DataError. */
function guarded<T>(indexPath: string, query: () => T): T {
  try {
    return query();
  } catch (error) {
    if (
      (error as { code?: unknown }).code === undefined ||
      !String((error as { code: unknown }).code).startsWith('SQLITE')
    )
      throw error;
    throw new DataError(
      `search index ${indexPath}: ${(error as Error).message}; delete it to rebuild it from the corpus`,
    );
  }
}

/**
 * The ranking query of a search: the best passages of a MATCH expression by BM25 (bm25() over every
 * matching passage, so a query's cost grows with its matches), parameters (expression, limit).
 */
export const RANKED_PASSAGES_SQL =
  `SELECT rowid AS passageRow, doc, part, bm25(passages, ${TITLE_WEIGHT}, ${BODY_WEIGHT}) AS rank ` +
  'FROM passages WHERE passages MATCH ? ORDER BY rank LIMIT ?';

/**
 * Opens an index file as it is (read-only; no corpus check, no quick_check): what `openSearchIndex`
 * ends with, and what a search worker opens once the main thread has checked the file.
 */
export function openSearchIndexFile(indexPath: string): SearchIndex {
  const database = new Database(indexPath, { readonly: true, fileMustExist: true });
  const meta = new Map(
    (database.prepare('SELECT key, value FROM meta').all() as Array<{ key: string; value: string }>).map((row) => [
      row.key,
      row.value,
    ]),
  );
  if (meta.get('format') !== FORMAT) {
    database.close();
    throw new DataError(
      `search index ${indexPath}: format ${meta.get('format') ?? '(none)'}, expected ${FORMAT}; delete it to rebuild`,
    );
  }
  // Rank first, then read texts only for the k passages kept.
  const match = database.prepare(RANKED_PASSAGES_SQL);
  const passageBody = database.prepare('SELECT body FROM passages WHERE rowid = ?').pluck();
  const documentHeader = database.prepare('SELECT id, title, source FROM documents WHERE rowid = ?');
  const documentText = database.prepare('SELECT text FROM documents WHERE rowid = ?').pluck();
  const documentById = database.prepare('SELECT id, title, text, source FROM documents WHERE id = ?');
  return {
    path: indexPath,
    documentCount: Number(meta.get('documents') ?? 0),
    passageCount: Number(meta.get('passage_count') ?? 0),
    search(query, options = {}) {
      return guarded(indexPath, () => searchIndex(query, options));
    },
    document(id) {
      return guarded(indexPath, () => documentById.get(id) as CorpusDocument | undefined);
    },
    close() {
      database.close();
    },
  };

  function searchIndex(query: string, options: SearchOptions): SearchHit[] {
    const k = Math.max(1, Math.floor(options.k ?? 5));
    const expression = toFtsExpression(typeof query === 'string' ? query : String(query));
    if (expression === undefined) return [];
    const best = new Map<number, { passageRow: number; part: number; rank: number }>();
    // Fetch passages until k distinct documents are found (or the matches run out).
    for (let limit = k * 4; ; limit *= 4) {
      const rows = match.all(expression, limit) as Array<{
        passageRow: number;
        doc: number;
        part: number;
        rank: number;
      }>;
      best.clear();
      for (const row of rows) if (!best.has(row.doc)) best.set(row.doc, row);
      if (best.size >= k || rows.length < limit) break;
    }
    return [...best.entries()].slice(0, k).map(([row, passage]) => {
      const header = documentHeader.get(row) as Omit<CorpusDocument, 'text'>;
      return {
        docId: header.id,
        title: header.title,
        text: (options.unit === 'document' ? documentText.get(row) : passageBody.get(passage.passageRow)) as string,
        score: -passage.rank,
        passage: passage.part,
        source: header.source,
      };
    });
  }
}
