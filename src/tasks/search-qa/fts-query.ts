/**
 * Turns free text into a safe SQLite FTS5 query. Only letter and digit runs survive, each one is
 * double-quoted (so AND, OR, NOT, NEAR, `*`, `^`, `:` column filters and parentheses are plain
 * words), stopwords are dropped and the terms are joined with OR, which BM25 then ranks. Any input,
 * however hostile, yields either a valid expression or `undefined` (no searchable words).
 */

// A small English stopword list: words that carry no topic and match most documents.
const STOPWORDS = new Set(
  (
    'a an and are as at be been but by can could did do does ' +
    'for from had has have he her his how i if in into is it its ' +
    'me my no not of on or our she so such than that the their ' +
    'them then there these they this those to was we were what ' +
    'when where which who whom whose why will with would you your'
  ).split(' '),
);

/** At most this many distinct terms are kept (a 10 kB query stays a cheap query). */
export const MAX_QUERY_TERMS = 32;

/** The searchable terms of a query: lower-cased letter/digit runs, stopwords and duplicates removed. */
export function queryTerms(query: string, maxTerms = MAX_QUERY_TERMS): string[] {
  const terms: string[] = [];
  const seen = new Set<string>();
  for (const match of query.normalize('NFC').matchAll(/[\p{L}\p{N}]+/gu)) {
    const term = match[0].toLowerCase();
    if (STOPWORDS.has(term) || seen.has(term) || term.length > 64) continue;
    seen.add(term);
    terms.push(term);
    if (terms.length >= maxTerms) break;
  }
  return terms;
}

/** An FTS5 MATCH expression for the query, or `undefined` when it has no searchable words. */
export function toFtsExpression(query: string, maxTerms = MAX_QUERY_TERMS): string | undefined {
  const terms = queryTerms(query, maxTerms);
  if (terms.length === 0) return undefined;
  return terms.map((term) => `"${term}"`).join(' OR ');
}
