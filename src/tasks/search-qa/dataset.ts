/**
 * Reading the question rows of a data directory back: `loadSearchQaDataset(dir, split)` validates
 * every row against the schema and names the line of a bad one.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DataError } from '../../errors.js';
import { DATA_FILES } from './data-files.js';
import { QUESTION_ROW_SCHEMA, type QuestionRow, type Split } from './types.js';

/** The questions of one split (or all splits), in file order. */
export function loadSearchQaDataset(dir: string, split?: Split | 'all'): QuestionRow[] {
  const filePath = path.join(dir, DATA_FILES.questions);
  if (!existsSync(filePath))
    throw new DataError(`search-qa dataset: ${filePath} does not exist; run \`turnwise data build\` first`);
  const rows: QuestionRow[] = [];
  readFileSync(filePath, 'utf8')
    .split('\n')
    .forEach((line, index) => {
      if (line.trim() === '') return;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch (error) {
        throw new DataError(`${filePath}:${index + 1}: not valid JSON (${(error as Error).message})`);
      }
      const parsed = QUESTION_ROW_SCHEMA.safeParse(record);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new DataError(`${filePath}:${index + 1}: field ${issue.path.join('.') || '(row)'}: ${issue.message}`);
      }
      if (split === undefined || split === 'all' || parsed.data.split === split) rows.push(parsed.data);
    });
  return rows;
}
