/**
 * Imports a Wikipedia dump in KILT's knowledge-source form (one JSON article a line:
 * `wikipedia_id`, `wikipedia_title`, `text` as a list of paragraphs, the first being the title)
 * into a search index, streamed line by line so a multi-GB file never sits in memory. The index
 * keeps the documents itself; no corpus.jsonl copy is written. Progress goes to `onProgress`.
 */
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DataError } from '../../../errors.js';
import { DATA_FILES } from '../data-files.js';
import type { PassageOptions } from '../passages.js';
import { buildSearchIndex } from '../search-index.js';
import type { CorpusDocument } from '../types.js';

/** Options of the KILT import. */
export interface KiltImportOptions {
  /** Stop after this many articles (default: all). */
  maxArticles?: number;
  passages?: PassageOptions;
  /** Progress lines (articles, MB read, articles/s). */
  onProgress?: (message: string) => void;
  /** Articles between progress lines (default 100,000). */
  progressEvery?: number;
}

/** Turns one KILT record into a corpus document: markers removed, the title paragraph dropped. */
export function kiltDocument(record: unknown, lineNumber: number): CorpusDocument {
  const article = record as { wikipedia_id?: unknown; _id?: unknown; wikipedia_title?: unknown; text?: unknown };
  const id =
    typeof article.wikipedia_id === 'string' || typeof article.wikipedia_id === 'number'
      ? String(article.wikipedia_id)
      : typeof article._id === 'string'
        ? article._id
        : undefined;
  if (id === undefined || typeof article.wikipedia_title !== 'string' || !Array.isArray(article.text)) {
    throw new DataError(
      `KILT line ${lineNumber}: expected wikipedia_id, wikipedia_title and a text array of paragraphs`,
    );
  }
  const paragraphs = article.text
    .filter((paragraph): paragraph is string => typeof paragraph === 'string')
    .map((paragraph) =>
      paragraph
        .replace(/^Section::::/, '')
        .replace(/^BULLET::::/, '')
        .trim(),
    )
    .filter((paragraph) => paragraph !== '');
  if (paragraphs[0] === article.wikipedia_title) paragraphs.shift();
  return { id: `kilt:${id}`, title: article.wikipedia_title, text: paragraphs.join('\n'), source: 'kilt' };
}

/** Streams the articles of a KILT JSONL file. */
export async function* readKiltArticles(
  filePath: string,
  options: KiltImportOptions = {},
): AsyncGenerator<CorpusDocument> {
  if (!existsSync(filePath)) throw new DataError(`KILT file ${filePath} does not exist`);
  const totalBytes = statSync(filePath).size;
  const input = createReadStream(filePath, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  const every = options.progressEvery ?? 100_000;
  const started = Date.now();
  let lineNumber = 0;
  let articles = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch (error) {
        throw new DataError(
          `${filePath}:${lineNumber}: not valid JSON (${(error as Error).message}); expected one KILT article per line`,
        );
      }
      yield kiltDocument(record, lineNumber);
      articles++;
      if (articles % every === 0) {
        const seconds = (Date.now() - started) / 1000;
        const megabytes = input.bytesRead / 1e6;
        options.onProgress?.(
          `${articles} articles, ${megabytes.toFixed(0)} / ${(totalBytes / 1e6).toFixed(0)} MB, ` +
            `${(articles / seconds).toFixed(0)} articles/s`,
        );
      }
      if (options.maxArticles !== undefined && articles >= options.maxArticles) break;
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

/** Imports a KILT file into `<dir>/index.sqlite` (replacing any index there) and returns the counts. */
export async function importKiltWikipedia(
  filePath: string,
  dir: string,
  options: KiltImportOptions = {},
): Promise<{ documents: number; passages: number }> {
  mkdirSync(dir, { recursive: true });
  if (existsSync(path.join(dir, DATA_FILES.corpus))) {
    throw new DataError(
      `${dir} holds a corpus.jsonl; import KILT into its own directory (its index would be rebuilt from that corpus)`,
    );
  }
  const stat = statSync(filePath);
  const corpusKey = `kilt:${path.basename(filePath)}:${stat.size}:${stat.mtimeMs}:${options.maxArticles ?? 'all'}`;
  const counts = await buildSearchIndex(readKiltArticles(filePath, options), path.join(dir, DATA_FILES.index), {
    corpusKey,
    passages: options.passages,
    onProgress: options.onProgress,
  });
  return counts;
}
