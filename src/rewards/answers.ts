/**
 * Where the paper's rewards find a row's accepted answers (TriviaQA `normalized_aliases`). The
 * default reads `row.answers`; a task passes its own accessor.
 */
import { DataError } from '../errors.js';

/** Reads the accepted answers (aliases) of a dataset row. */
export type AnswersOf<Row> = (row: Row) => readonly string[];

/** Reads `row.answers`, which must be an array of strings. */
export function defaultAnswers(row: unknown): readonly string[] {
  const answers = typeof row === 'object' && row !== null ? (row as Record<string, unknown>)['answers'] : undefined;
  if (!Array.isArray(answers) || answers.some((answer) => typeof answer !== 'string')) {
    throw new DataError(
      `the dataset row has no 'answers' array of strings (got ` +
        `${JSON.stringify(row)?.slice(0, 200)}); pass options.answers to read the aliases`,
    );
  }
  return answers as string[];
}
