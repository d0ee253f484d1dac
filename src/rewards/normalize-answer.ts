/**
 * Answer normalisation. `normalizePaper` is what the reference code compares (lower-case, strip);
 * with TriviaQA's pre-normalised aliases it makes "The Beatles" differ from "beatles".
 * `normalizeSquad` is the SQuAD-style normalisation (lower-case, accents removed, punctuation
 * removed, articles a/an/the dropped, whitespace collapsed); `normalizeTriviaQa` is the same with
 * punctuation and underscores turned into spaces, as TriviaQA built its `normalized_aliases`.
 */

/** A normaliser of answers and aliases. */
export type AnswerNormalizer = (text: string) => string;

/** The paper's comparison: lower-case and strip. */
export function normalizePaper(text: string): string {
  return text.toLowerCase().trim();
}

const ARTICLES = new Set(['a', 'an', 'the']);

function normalizeWith(text: string, punctuation: 'delete' | 'space'): string {
  let out = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '');
  if (punctuation === 'space') out = out.replace(/_/g, ' ');
  out = out.replace(/[\p{P}\p{S}]/gu, punctuation === 'space' ? ' ' : '');
  return out
    .split(/\s+/u)
    .filter((word) => word.length > 0 && !ARTICLES.has(word))
    .join(' ');
}

/** SQuAD-style: lower-case, no accents, punctuation deleted, no articles, single spaces. */
export function normalizeSquad(text: string): string {
  return normalizeWith(text, 'delete');
}

/** TriviaQA-style: as SQuAD but punctuation and underscores become spaces. */
export function normalizeTriviaQa(text: string): string {
  return normalizeWith(text, 'space');
}
