import { describe, expect, it } from 'vitest';
import type { CorpusDocument } from '../types.js';
import {
  elementFieldQuestions,
  factbookFieldQuestions,
  FIELD_LABELS_LEFT_OUT,
  FIELD_TEMPLATES,
  fieldAnswer,
  fieldLines,
  wordnetFieldQuestions,
} from './field-questions.js';
import { HELD_OUT_KIND_TEMPLATES } from './held-out-kinds.js';

const doc = (id: string, title: string, source: string, lines: string[]): CorpusDocument => ({
  id,
  title,
  source,
  text: lines.join('\n'),
});

const GEOGRAPHY = doc('factbook:ag/Geography', 'Algeria - Geography', 'factbook', [
  'Map references: Africa',
  'Area: total: 2,381,741 sq km',
  'Area: land: 2,381,741 sq km',
  'Coastline: 998 km',
  'Climate: arid to semiarid; mild, wet winters with hot, dry summers along coast',
  'Elevation extremes: lowest point: Chott Melrhir -40 m',
  'Elevation extremes: highest point: Tahat 3,003 m',
  'Natural resources: petroleum, natural gas, iron ore, phosphates, uranium, lead, zinc, and many more',
  'Geography - note: largest country in Africa',
  'Irrigated land: NA',
]);
const GOVERNMENT = doc('factbook:ag/Government', 'Algeria - Government', 'factbook', [
  'Government type: republic',
  'Capital: name: Algiers',
  'Independence: 5 July 1962 (from France)',
  'National symbol(s): star and crescent, fennec fox; national colors: green, white, red',
  'National anthem: name: "Kassaman" (We Pledge)',
  'Legal system: mixed legal system of French civil law and Islamic law',
]);

/** The corpus label each held-out kind reads its answer from (held-out-kinds.ts). */
const HELD_OUT_KIND_LABELS: Record<keyof typeof HELD_OUT_KIND_TEMPLATES, [string, string]> = {
  lowest_point: ['factbook', 'elevation extremes'],
  independence_year: ['factbook', 'independence'],
  nationality_adjective: ['factbook', 'nationality'],
  calling_code: ['factbook', 'telephone system'],
  national_symbol: ['factbook', 'national symbol(s)'],
  element_from_symbol: ['elements', 'symbol'],
  element_category: ['elements', 'category'],
  element_period: ['elements', 'period'],
  instance_class: ['wordnet', 'instance of'],
  place_part_of: ['wordnet', 'part of'],
};

describe('fieldLines and fieldAnswer', () => {
  it('reads Label: value and Label: sub-label: value lines, nothing else', () => {
    expect(fieldLines('free text here\nCoastline: 998 km\nArea: total: 5 sq km\nlower: case')).toEqual([
      { label: 'Coastline', value: '998 km' },
      { label: 'Area', sub: 'total', value: '5 sq km' },
    ]);
  });

  it('keeps a short first clause without parentheses; refuses long, unknown or noted values', () => {
    expect(fieldAnswer('5 July 1962 (from France)')).toBe('5 July 1962');
    expect(fieldAnswer('arid to semiarid; mild, wet winters')).toBe('arid to semiarid');
    expect(fieldAnswer('petroleum, natural gas, iron ore, phosphates, uranium, lead, zinc')).toBeUndefined();
    expect(fieldAnswer('NA')).toBeUndefined();
    expect(fieldAnswer('see note below')).toBeUndefined();
    expect(fieldAnswer('2,438 to 3,047 m: 1')).toBeUndefined();
  });
});

describe('factbookFieldQuestions', () => {
  const drafts = factbookFieldQuestions([GEOGRAPHY, GOVERNMENT], () => 'Algeria', 10);

  it('asks each usable label (and sub-label) once per document, with the country as entity and the document as gold', () => {
    expect(drafts.map((draft) => draft.answers[0]).sort()).toEqual(
      ['998 km', 'Africa', '2,381,741 sq km', '2,381,741 sq km', 'arid to semiarid', 'republic'].sort(),
    );
    for (const draft of drafts) {
      expect(draft.family).toBe('field_factbook');
      expect(draft.entity).toBe('Algeria');
      expect(draft.question).toContain('Algeria');
      expect(FIELD_TEMPLATES).toContain(draft.template);
      expect([GEOGRAPHY.id, GOVERNMENT.id]).toContain(draft.gold[0]);
    }
    expect(new Set(drafts.map((draft) => draft.key)).size).toBe(drafts.length);
  });

  it('never asks what a held-out kind or a trained family asks', () => {
    const asked = drafts.map((draft) => draft.question.toLowerCase()).join('\n');
    for (const word of ['lowest', 'highest', 'independence', 'symbol', 'capital', 'anthem', 'legal system'])
      expect(asked).not.toContain(word);
  });

  it('keeps at most perDocument questions of a document, chosen the same way every time', () => {
    const two = factbookFieldQuestions([GEOGRAPHY], () => 'Algeria', 2);
    expect(two).toHaveLength(2);
    expect(factbookFieldQuestions([GEOGRAPHY], () => 'Algeria', 2)).toEqual(two);
    expect(factbookFieldQuestions([GEOGRAPHY], () => undefined)).toEqual([]);
  });
});

describe('elementFieldQuestions and wordnetFieldQuestions', () => {
  it('asks an element the fields no element family asks', () => {
    const iron = doc('elements:26', 'Iron (chemical element)', 'elements', [
      'Symbol: Fe',
      'Atomic number: 26',
      'Discovered by: 5000 BC',
      'Category: transition metal',
      'Phase at room temperature: Solid',
      'Atomic mass: 55.8452',
      'Period: 4',
    ]);
    const drafts = elementFieldQuestions([iron]);
    expect(drafts.map((draft) => draft.answers[0])).toEqual(['Solid', '55.8452']);
    expect(drafts.every((draft) => draft.entity === 'Iron' && draft.question.includes('iron'))).toBe(true);
  });

  it('asks WordNet relations other than kind, instance and part of, for unambiguous titles only', () => {
    const documents = [
      doc('wordnet:1', 'dunlin', 'wordnet', [
        'a sandpiper',
        'Also called: red-backed sandpiper, Erolia alpina',
        'Kind of: sandpiper',
      ]),
      doc('wordnet:2', 'Lyon', 'wordnet', ['a city in France', 'Instance of: city', 'Part of: France']),
      doc('wordnet:3', 'bank (building)', 'wordnet', ['a building', 'Also called: bank building']),
    ];
    const drafts = wordnetFieldQuestions(documents, (name) => name);
    expect(drafts).toHaveLength(1);
    expect(drafts[0]).toMatchObject({
      question: 'What is another name for dunlin?',
      answers: ['red-backed sandpiper', 'Erolia alpina'],
      family: 'field_wordnet',
      gold: ['wordnet:1'],
    });
  });
});

describe('the held-out kinds stay relations no field question asks', () => {
  it('leaves out the label every held-out kind reads its answer from', () => {
    for (const family of Object.keys(HELD_OUT_KIND_TEMPLATES) as Array<keyof typeof HELD_OUT_KIND_TEMPLATES>) {
      const [source, label] = HELD_OUT_KIND_LABELS[family];
      expect(FIELD_LABELS_LEFT_OUT[source], family).toContain(label);
    }
  });
});
