/**
 * A search result shown from the line that best matches the query, as a search engine's snippet
 * is, instead of from the passage's first line (`task.resultWindow: query`). A Factbook passage is
 * ten to forty `Label: value` lines; under a budget of 200 characters its head shows two or three
 * of them, so a question about its fifth line ("What is the lowest point in Chad?") gets a result
 * without its answer. Lines are scored by the query's words they hold, each word weighted by how
 * rare it is among the passage's lines (a word on every line tells nothing); words of the title
 * are left out (the title names the entity, the question asks which of its lines); words match on
 * their first five letters, so "independent" finds "Independence". The title stays first; skipped
 * lines are marked by "..." at the start of the text.
 */
import type { SearchHit } from './search-index.js';

/** Where a shown result starts: the passage's first line, or the line that best matches the query. */
export type ResultWindow = 'start' | 'query';

/** Marks the lines a focused result skipped. */
export const SKIPPED_LINES_MARK = '... ';

const STOPWORDS = new Set(
  (
    'a an and are as at be by can did do does for from has have how in is it its of on or the this to ' +
    'was were what when where which who whom whose why with you your give tell me'
  ).split(' '),
);

/** The query's content words as match keys (lower case, first five letters). */
export function queryKeys(query: string): Set<string> {
  const keys = new Set<string>();
  for (const word of query.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (word.length < 2 || STOPWORDS.has(word)) continue;
    keys.add(word.slice(0, 5));
  }
  return keys;
}

function lineKeys(line: string): Set<string> {
  return new Set(
    line
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter((word) => word.length >= 2)
      .map((word) => word.slice(0, 5)),
  );
}

/** The index of the line that best matches the query's words not in `title` (the first on ties; 0 when none matches). */
export function bestLine(lines: readonly string[], query: string, title = ''): number {
  const keys = queryKeys(query);
  for (const key of lineKeys(title)) keys.delete(key);
  if (keys.size === 0 || lines.length < 2) return 0;
  const perLine = lines.map(lineKeys);
  const lineCount = new Map<string, number>();
  for (const key of keys) lineCount.set(key, perLine.filter((words) => words.has(key)).length);
  let best = 0;
  let bestScore = 0;
  for (const [index, words] of perLine.entries()) {
    let score = 0;
    for (const key of keys) if (words.has(key)) score += Math.log(1 + lines.length / lineCount.get(key)!);
    if (score > bestScore + 1e-9) {
      best = index;
      bestScore = score;
    }
  }
  return best;
}

/** The hit with its text starting at the line that best matches the query (unchanged when that is the first). */
export function focusOnQuery(hit: SearchHit, query: string): SearchHit {
  const lines = hit.text.split('\n');
  const start = bestLine(lines, query, hit.title);
  if (start === 0) return hit;
  return { ...hit, text: SKIPPED_LINES_MARK + lines.slice(start).join('\n') };
}
