/**
 * TriviaQA loaders: the `rc` JSON files as published (`{"Data": [...], "Split": ...}`, streamed
 * element by element) and the Hugging Face parquet export (`trivia_qa`, config `rc`; read with
 * hyparquet one row group at a time). Both give question rows of family `triviaqa` whose answers
 * are the aliases and whose normalised answers are TriviaQA's `normalized_aliases` (what the paper
 * rewards against); the entity pages' titles become `goldTitles`, which match a KILT Wikipedia index.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { existsSync } from 'node:fs';
import { DataError } from '../../../errors.js';
import { unique } from '../questions/answer-aliases.js';
import { normalizeAliases } from '../text-match.js';
import type { QuestionRow, Split } from '../types.js';
import { streamJsonArrayElements } from './json-array-stream.js';

/** Options of the TriviaQA readers. */
export interface TriviaQaReadOptions {
  /** Split given to the rows (default: from the file's `Split` field, or `train`). */
  split?: Split;
  /** Called with the number of rows read so far, every 10,000 rows. */
  onProgress?: (rows: number) => void;
}

/** Counts of what a reader skipped. */
export interface TriviaQaSkipCounts {
  /** Records without an answer (the published test split withholds them). */
  withoutAnswer: number;
}

/** Maps a split name of a TriviaQA file or export to ours. */
export function triviaQaSplit(name: string | undefined): Split | undefined {
  if (name === undefined) return undefined;
  const lower = name.toLowerCase();
  if (lower === 'train') return 'train';
  if (lower === 'dev' || lower === 'validation' || lower === 'valid') return 'dev';
  if (lower === 'test') return 'test';
  return undefined;
}

interface AnswerFields {
  aliases?: unknown;
  normalizedAliases?: unknown;
  value?: unknown;
  normalizedValue?: unknown;
  matchedEntity?: unknown;
}

/** Builds a question row from the fields common to both formats; undefined when there is no answer. */
export function triviaQaRow(fields: {
  id: unknown;
  question: unknown;
  answer?: AnswerFields;
  pageTitles: unknown;
  split: Split;
}): QuestionRow | undefined {
  if (typeof fields.id !== 'string' || typeof fields.question !== 'string') {
    throw new DataError(`TriviaQA record ${JSON.stringify(fields.id)}: expected string question id and question text`);
  }
  const answer = fields.answer;
  if (!answer) return undefined;
  const strings = (value: unknown) =>
    Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string' && item.trim() !== '') : [];
  const answers = unique([
    ...(typeof answer.value === 'string' && answer.value.trim() !== '' ? [answer.value] : []),
    ...strings(answer.aliases),
  ]);
  if (answers.length === 0) return undefined;
  const normalizedGiven = strings(answer.normalizedAliases);
  const normalizedAnswers = normalizedGiven.length > 0 ? [...new Set(normalizedGiven)] : normalizeAliases(answers);
  const entity = [answer.matchedEntity, answer.normalizedValue, answer.value].find(
    (value): value is string => typeof value === 'string' && value.trim() !== '',
  )!;
  return {
    id: fields.id,
    question: fields.question,
    answers,
    normalizedAnswers,
    family: 'triviaqa',
    template: '',
    source: 'triviaqa',
    entity,
    gold: [],
    goldTitles: strings(fields.pageTitles),
    split: fields.split,
  };
}

/** Streams the rows of a published TriviaQA `rc` JSON file (e.g. `qa/wikipedia-dev.json`). */
export async function* readTriviaQaJson(
  filePath: string,
  options: TriviaQaReadOptions = {},
  skipped: TriviaQaSkipCounts = { withoutAnswer: 0 },
): AsyncGenerator<QuestionRow> {
  assertExists(filePath);
  const split = options.split ?? (await peekSplit(filePath)) ?? 'train';
  let count = 0;
  for await (const element of streamJsonArrayElements(filePath, 'Data')) {
    const record = element as {
      QuestionId?: unknown;
      Question?: unknown;
      Answer?: Record<string, unknown>;
      EntityPages?: unknown;
    };
    const pages = Array.isArray(record.EntityPages)
      ? record.EntityPages.map((page) => (page as { Title?: unknown }).Title)
      : [];
    const row = triviaQaRow({
      id: record.QuestionId,
      question: record.Question,
      answer: record.Answer && {
        aliases: record.Answer.Aliases,
        normalizedAliases: record.Answer.NormalizedAliases,
        value: record.Answer.Value,
        normalizedValue: record.Answer.NormalizedValue,
        matchedEntity: record.Answer.MatchedWikiEntityName,
      },
      pageTitles: pages,
      split,
    });
    if (!row) {
      skipped.withoutAnswer++;
      continue;
    }
    yield row;
    if (++count % 10_000 === 0) options.onProgress?.(count);
  }
}

/** Streams the rows of a Hugging Face `trivia_qa` parquet file, one row group at a time. */
export async function* readTriviaQaParquet(
  filePath: string,
  options: TriviaQaReadOptions = {},
  skipped: TriviaQaSkipCounts = { withoutAnswer: 0 },
): AsyncGenerator<QuestionRow> {
  assertExists(filePath);
  const file = await asyncBufferFromFile(filePath);
  const metadata = await parquetMetadataAsync(file);
  const columnNames = new Set(metadata.schema.slice(1).map((element) => element.name));
  for (const required of ['question', 'question_id', 'answer']) {
    if (!columnNames.has(required)) {
      throw new DataError(
        `${filePath}: expected the trivia_qa parquet columns question, question_id, answer; missing ${required}`,
      );
    }
  }
  const columns = ['question', 'question_id', 'answer', ...(columnNames.has('entity_pages') ? ['entity_pages'] : [])];
  const split = options.split ?? splitFromFileName(filePath) ?? 'train';
  let rowStart = 0;
  let count = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    // Parquet records are untyped nested structs, checked field by field below.
    // biome-ignore lint/suspicious/noExplicitAny: see above
    type ParquetRecord = Record<string, any>;
    const records = (await parquetReadObjects({ file, metadata, columns, rowStart, rowEnd })) as ParquetRecord[];
    rowStart = rowEnd;
    for (const record of records) {
      const answer = record.answer as Record<string, unknown> | null | undefined;
      const row = triviaQaRow({
        id: record.question_id,
        question: record.question,
        answer: answer
          ? {
              aliases: answer.aliases,
              normalizedAliases: answer.normalized_aliases,
              value: answer.value,
              normalizedValue: answer.normalized_value,
              matchedEntity: answer.matched_wiki_entity_name,
            }
          : undefined,
        pageTitles: record.entity_pages?.title,
        split,
      });
      if (!row) {
        skipped.withoutAnswer++;
        continue;
      }
      yield row;
      if (++count % 10_000 === 0) options.onProgress?.(count);
    }
  }
}

/** Reads either format, chosen by the file extension (`.parquet` or `.json`). */
export function readTriviaQa(
  filePath: string,
  options: TriviaQaReadOptions = {},
  skipped?: TriviaQaSkipCounts,
): AsyncGenerator<QuestionRow> {
  if (filePath.endsWith('.parquet')) return readTriviaQaParquet(filePath, options, skipped);
  if (filePath.endsWith('.json')) return readTriviaQaJson(filePath, options, skipped);
  throw new DataError(
    `TriviaQA file ${filePath}: expected a .json (published rc format) or .parquet (Hugging Face export) file`,
  );
}

// The published files put "Split" after "Data"; read the tail to find it without parsing the file.
async function peekSplit(filePath: string): Promise<Split | undefined> {
  const { open } = await import('node:fs/promises');
  const handle = await open(filePath, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 4096);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const match = /"Split"\s*:\s*"([^"]+)"/.exec(buffer.toString('utf8'));
    return triviaQaSplit(match?.[1]);
  } finally {
    await handle.close();
  }
}

function splitFromFileName(filePath: string): Split | undefined {
  const match = /(train|validation|test)[-_.]/i.exec(filePath.split('/').at(-1) ?? '');
  return triviaQaSplit(match?.[1]);
}

function assertExists(filePath: string): void {
  if (!existsSync(filePath)) throw new DataError(`TriviaQA file ${filePath} does not exist`);
}
