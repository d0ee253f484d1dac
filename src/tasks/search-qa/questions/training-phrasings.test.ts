import { describe, expect, it } from 'vitest';
import type { QuestionRow } from '../types.js';
import { FACTBOOK_TEMPLATES } from './factbook-questions.js';
import { templateSlots } from './template-pattern.js';
import { FIELD_TEMPLATES } from './field-questions.js';
import { HELD_OUT_KIND_TEMPLATES } from './held-out-kinds.js';
import { HELD_OUT_PHRASINGS } from './held-out-phrasings.js';
import { FIELD_WORDINGS, TRAINING_PHRASINGS, withTrainingWording } from './training-phrasings.js';

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

  const fieldRow = (id: string, field: string, entity = 'Benin'): QuestionRow => ({
    ...row(id),
    question: `What is the ${field} of ${entity}?`,
    family: 'field_factbook',
    template: FIELD_TEMPLATES[0],
    entity,
  });

  it('re-words field questions in other frames, keeping the field and the entity', () => {
    const varied = Array.from({ length: 120 }, (_, i) => withTrainingWording(fieldRow(`f${i}`, 'coastline')));
    const templates = new Set(varied.map((each) => each.template));
    expect(templates).toEqual(new Set([FIELD_TEMPLATES[0], ...FIELD_WORDINGS[FIELD_TEMPLATES[0]]!]));
    for (const each of varied) {
      expect(each.question).toContain('coastline');
      expect(each.question).toContain('Benin');
    }
  });

  it('names a field by its sub-label alone in some questions, only when the sub-label says something', () => {
    const land = Array.from({ length: 60 }, (_, i) =>
      withTrainingWording(fieldRow(`a${i}`, 'land use (agricultural land)')),
    );
    const alone = land.filter((each) => !each.question.includes('land use'));
    expect(alone.length).toBeGreaterThan(10);
    expect(alone.length).toBeLessThan(50);
    for (const each of alone) expect(each.question).toContain('agricultural land');
    const total = Array.from({ length: 60 }, (_, i) => withTrainingWording(fieldRow(`t${i}`, 'area (total)')));
    for (const each of total) expect(each.question).toContain('area (total)');
  });

  it('leaves a field question alone when its label holds " of " and the entity cannot be read back', () => {
    for (let i = 0; i < 20; i++) {
      const tricky = fieldRow(`x${i}`, 'executive branch (head of government)', 'Chad');
      expect(withTrainingWording(tricky)).toEqual(tricky);
    }
  });

  it('uses no held-out wording, of a trained kind or of a held-out kind', () => {
    const heldOut = new Set([...Object.values(HELD_OUT_PHRASINGS).flat(), ...Object.values(HELD_OUT_KIND_TEMPLATES)]);
    for (const wording of Object.values(FIELD_WORDINGS).flat()) expect(heldOut.has(wording)).toBe(false);
  });
});
