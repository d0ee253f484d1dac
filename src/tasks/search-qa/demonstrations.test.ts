import { describe, expect, it } from 'vitest';
import { Random } from '../../random.js';
import type { QuestionRow } from './types.js';
import type { WikiSearchTool } from './wiki-search-tool.js';
import { XmlFormat } from '../../env/xml-format.js';
import { answerFromResult, chooseKind, DEMO_KINDS, makeDemonstration } from './demonstrations.js';

const row: QuestionRow = {
  id: 'q1',
  question: 'What is the capital of France?',
  answers: ['Paris', 'Paris, France'],
  normalizedAnswers: ['paris', 'paris france'],
  family: 'capital',
  template: 'What is the capital of {country}?',
  source: 'factbook',
  entity: 'fr',
  gold: ['factbook:fr/Government'],
  split: 'train',
};
const queries: string[] = [];
const tool = {
  run: (query: string) => {
    queries.push(query);
    return {
      text: query.includes('capital of France')
        ? 'France - Government\nCapital: name: Paris'
        : 'Lyon\na city in France',
      shown: [],
    };
  },
} as unknown as WikiSearchTool;
const format = new XmlFormat();

describe('scripted demonstrations', () => {
  it('reads an alias off the result, else the top title', () => {
    expect(answerFromResult(row, 'France - Government\nCapital: name: Paris')).toBe('Paris');
    expect(answerFromResult(row, 'Lyon\na city')).toBe('Lyon');
    expect(answerFromResult(row, 'Paris\nthe capital')).toBe('Paris');
  });

  it('makes a good demonstration that searches with the question and answers from the result', () => {
    const demo = makeDemonstration({ row, kind: 'good', tool, random: new Random(1), guessPool: ['Rome'] });
    expect(format.parseToolCall(demo.replies[0]!)).toContain('What is the capital of France?');
    expect(format.parseAnswer(demo.replies[1]!)).toBe('Paris');
  });

  it('makes imperfect demonstrations: poor query, no search, broken format', () => {
    const random = new Random(2);
    const poor = makeDemonstration({ row, kind: 'poorQuery', tool, random, guessPool: ['Rome'] });
    const query = JSON.parse(format.parseToolCall(poor.replies[0]!)!).args.query as string;
    expect(query.split(' ').length).toBeLessThanOrEqual(2);
    expect(format.parseAnswer(poor.replies[1]!)).not.toBe('Paris');
    const none = makeDemonstration({ row, kind: 'noSearch', tool, random, guessPool: ['Rome'] });
    expect(none.replies).toHaveLength(1);
    expect(format.parseToolCall(none.replies[0]!)).toBeUndefined();
    expect(format.parseAnswer(none.replies[0]!)).toBe('Rome');
    for (let i = 0; i < 12; i++) {
      const broken = makeDemonstration({ row, kind: 'brokenFormat', tool, random, guessPool: ['Rome'] });
      // Every script ends with a parseable answer, so the episode terminates.
      expect(format.parseAnswer(broken.replies.at(-1)!)).toBe('Rome');
      const first = broken.replies[0]!;
      const call = format.parseToolCall(first);
      const wellFormed =
        first.startsWith('<reasoning>') &&
        call !== undefined &&
        (() => {
          try {
            JSON.parse(call);
            return true;
          } catch {
            return false;
          }
        })();
      expect(wellFormed).toBe(false);
    }
  });

  it('draws kinds in proportion to the mix', () => {
    const random = new Random(3);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 4000; i++) {
      const kind = chooseKind({ good: 0.5, poorQuery: 0.25, noSearch: 0.25, brokenFormat: 0 }, random);
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
    expect(counts['brokenFormat']).toBeUndefined();
    expect(counts['good']! / 4000).toBeCloseTo(0.5, 1);
    expect(DEMO_KINDS).toHaveLength(4);
  });
});
