import { describe, expect, it } from 'vitest';
import { MAX_QUERY_TERMS, queryTerms, toFtsExpression } from './fts-query.js';

describe('toFtsExpression', () => {
  it('quotes every term and joins them with OR', () => {
    expect(toFtsExpression('capital of France')).toBe('"capital" OR "france"');
  });

  it('turns FTS5 operators and syntax into plain words or drops them', () => {
    expect(toFtsExpression('NEAR(a b) AND title:x* ^y "z')).toBe('"near" OR "b" OR "title" OR "x" OR "y" OR "z"');
  });

  it('returns undefined when no searchable word is left', () => {
    expect(toFtsExpression('')).toBeUndefined();
    expect(toFtsExpression('  "()*: ^ -- ')).toBeUndefined();
    expect(toFtsExpression('what is the')).toBeUndefined();
  });

  it('caps the number of terms of a huge query', () => {
    const words = Array.from({ length: 5000 }, (_, i) => `w${i}`).join(' ');
    expect(queryTerms(words)).toHaveLength(MAX_QUERY_TERMS);
  });
});
