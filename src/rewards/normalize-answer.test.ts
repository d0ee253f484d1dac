import { describe, expect, it } from 'vitest';
import { normalizePaper, normalizeSquad, normalizeTriviaQa } from './normalize-answer.js';

describe('answer normalisation', () => {
  it('paper: lower-case and strip only', () => {
    expect(normalizePaper('  The Beatles. ')).toBe('the beatles.');
  });

  it('SQuAD-style: drops punctuation, articles and accents, collapses whitespace', () => {
    expect(normalizeSquad('  The   Beatles! ')).toBe('beatles');
    expect(normalizeSquad('St. Louis')).toBe('st louis');
    expect(normalizeSquad('Pelé')).toBe('pele');
    expect(normalizeSquad('An apple, a day')).toBe('apple day');
    expect(normalizeSquad('U.S.')).toBe('us');
  });

  it('TriviaQA-style: punctuation and underscores become spaces', () => {
    expect(normalizeTriviaQa('U.S.')).toBe('u s');
    expect(normalizeTriviaQa('new_york')).toBe('new york');
    expect(normalizeTriviaQa('The Beatles’')).toBe('beatles');
  });
});
