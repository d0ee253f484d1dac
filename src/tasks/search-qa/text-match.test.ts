import { describe, expect, it } from 'vitest';
import {
  containsAnswer,
  normalizeAliases,
  normalizeAnswer,
  normalizedExactMatch,
  scoredAliases,
} from './text-match.js';

describe('normalizeAnswer', () => {
  it('follows TriviaQA: lower case, punctuation to spaces, articles dropped', () => {
    expect(normalizeAnswer('The Beatles')).toBe('beatles');
    expect(normalizeAnswer('St. Louis')).toBe('st louis');
    expect(normalizeAnswer('  A  Tale_of Two-Cities! ')).toBe('tale of two cities');
  });

  it('deduplicates normalised aliases and drops empty ones', () => {
    expect(normalizeAliases(['Fe', 'fe', '.', 'The Fe'])).toEqual(['fe']);
  });

  it('scores an alias as the corpus writes it beside its TriviaQA form, so a faithful copy matches', () => {
    expect(scoredAliases(['.dz', '29,900', 'Fe', 'The Fe', ' '])).toEqual([
      'dz',
      '29 900',
      'fe',
      '.dz',
      '29,900',
      'the fe',
    ]);
    expect(scoredAliases(['Paris'])).toEqual(['paris']);
  });
});

describe('containsAnswer', () => {
  it('matches whole words only, so a one-letter symbol does not match inside a word', () => {
    expect(containsAnswer('Hydrogen is light', ['H'])).toBe(false);
    expect(containsAnswer('Symbol: H\nAtomic number: 1', ['H'])).toBe(true);
  });

  it('folds accents and ignores case and punctuation', () => {
    expect(containsAnswer('Discovered by: Emilio Segrè', ['emilio segre'])).toBe(true);
    expect(containsAnswer('Capital: name: Washington, DC', ['Washington DC'])).toBe(true);
  });

  it('matches internet codes with or without the dot', () => {
    expect(containsAnswer('Internet country code: .fr', ['.fr'])).toBe(true);
    expect(containsAnswer('a fresh start', ['.fr'])).toBe(false);
  });
});

describe('normalizedExactMatch', () => {
  it('accepts answers that differ by articles or punctuation only', () => {
    expect(normalizedExactMatch('The Beatles', ['beatles'])).toBe(true);
    expect(normalizedExactMatch('Beatles fan', ['beatles'])).toBe(false);
    expect(normalizedExactMatch('', [''])).toBe(false);
  });
});
