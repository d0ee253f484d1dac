import { describe, expect, it } from 'vitest';
import type { QuestionRow } from '../types.js';
import { FACTBOOK_TEMPLATES } from './factbook-questions.js';
import { templateSlots } from './template-pattern.js';
import { TRAINING_PHRASINGS, withTrainingWording } from './training-phrasings.js';

const row = (id: string): QuestionRow => ({
  id,
  question: `What is the capital city of Country ${id}?`,
  answers: ['x'],
  normalizedAnswers: ['x'],
  family: 'capital',
  template: FACTBOOK_TEMPLATES.capital.template,
  source: 'factbook',
  entity: `Country ${id}`,
  gold: [],
  split: 'train',
});

describe('training wordings', () => {
  it('keeps the slots of each family template', () => {
    expect(templateSlots(TRAINING_PHRASINGS.capital![0]!)).toEqual(['country']);
    for (const wordings of Object.values(TRAINING_PHRASINGS)) expect(wordings.length).toBeGreaterThanOrEqual(3);
  });

  it('spreads a family over its template and its training wordings, deterministically', () => {
    const varied = Array.from({ length: 80 }, (_, i) => withTrainingWording(row(`c${i}`)));
    const templates = new Set(varied.map((each) => each.template));
    expect(templates).toEqual(new Set([FACTBOOK_TEMPLATES.capital.template, ...TRAINING_PHRASINGS.capital!]));
    for (const each of varied) expect(each.question).toContain(each.entity);
    expect(withTrainingWording(row('c7'))).toEqual(withTrainingWording(row('c7')));
  });
});
