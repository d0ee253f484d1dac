import { describe, expect, it } from 'vitest';
import { bestLine, focusOnQuery, queryKeys, SKIPPED_LINES_MARK } from './query-focus.js';
import type { SearchHit } from './search-index.js';

const GEOGRAPHY = [
  'Climate: arid to semiarid; mild, wet winters with hot, dry summers along coast',
  'Terrain: mostly high plateau and desert; some mountains',
  'Elevation extremes: lowest point: Chott Melrhir -40 m',
  'Elevation extremes: highest point: Tahat 3,003 m',
  'Natural resources: petroleum, natural gas, iron ore',
];

const hit = (title: string, lines: string[]): SearchHit => ({
  docId: 'factbook:ag/Geography',
  title,
  text: lines.join('\n'),
  score: 1,
  passage: 0,
  source: 'factbook',
});

describe('queryKeys', () => {
  it('keeps content words as their first five letters and drops question words', () => {
    expect([...queryKeys('In which year did Algeria become independent?')]).toEqual([
      'year',
      'alger',
      'becom',
      'indep',
    ]);
    expect(queryKeys('What is the?').size).toBe(0);
  });
});

describe('bestLine', () => {
  it('finds the line naming the field the question asks for', () => {
    expect(bestLine(GEOGRAPHY, 'What is the lowest point in Algeria?')).toBe(2);
    expect(bestLine(GEOGRAPHY, 'Which natural resources does Algeria have?')).toBe(4);
  });

  it('weights a word by its rarity among the lines: "point" is on two lines, "highest" on one', () => {
    expect(bestLine(GEOGRAPHY, 'highest point')).toBe(3);
  });

  it('matches words on their first five letters ("independent" finds "Independence")', () => {
    expect(bestLine(['Capital: name: Algiers', 'Independence: 5 July 1962 (from France)'], 'When independent?')).toBe(
      1,
    );
  });

  it("leaves out the title's words: the entity is the document, not one of its lines", () => {
    const lines = [
      'National symbol(s): Palanca Negra Gigante',
      'National anthem: name: "Angola Avante" (Forward Angola)',
    ];
    expect(bestLine(lines, 'Name a national symbol of Angola.', 'Angola - Government')).toBe(0);
    expect(bestLine(lines, 'Name a national symbol of Angola.')).toBe(1);
  });

  it('keeps the first line when nothing matches, on ties, and for one-line texts', () => {
    expect(bestLine(GEOGRAPHY, 'zebra')).toBe(0);
    expect(bestLine(['Area: total: 10 sq km', 'Land boundaries: total: 5 km'], 'total')).toBe(0);
    expect(bestLine(['Elevation: lowest point: X'], 'lowest point')).toBe(0);
  });
});

describe('focusOnQuery', () => {
  it('starts the text at the best line, marking the skipped lines', () => {
    const focused = focusOnQuery(hit('Algeria - Geography', GEOGRAPHY), 'What is the lowest point in Algeria?');
    expect(focused.text).toBe(`${SKIPPED_LINES_MARK}${GEOGRAPHY.slice(2).join('\n')}`);
    expect(focused.title).toBe('Algeria - Geography');
  });

  it('returns the hit itself when the best line is the first', () => {
    const original = hit('Algeria - Geography', GEOGRAPHY);
    expect(focusOnQuery(original, 'climate')).toBe(original);
  });
});
