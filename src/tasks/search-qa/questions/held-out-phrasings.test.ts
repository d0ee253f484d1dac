import { describe, expect, it } from 'vitest';
import { ELEMENT_TEMPLATES } from './element-questions.js';
import { FACTBOOK_TEMPLATES } from './factbook-questions.js';
import { HELD_OUT_PHRASINGS, heldOutPhrasingQuestions } from './held-out-phrasings.js';
import { templateSlots } from './template-pattern.js';
import { TRAINING_PHRASINGS } from './training-phrasings.js';
import { WORDNET_TEMPLATES } from './wordnet-questions.js';

const TRAINED_TEMPLATES = [
  ...Object.values(FACTBOOK_TEMPLATES).map((entry) => entry.template),
  ...Object.values(ELEMENT_TEMPLATES),
  ...Object.values(WORDNET_TEMPLATES),
];

describe('held-out phrasings', () => {
  it('gives every kind at least three wordings, none a training template or training wording', () => {
    const training = new Set([...TRAINED_TEMPLATES, ...Object.values(TRAINING_PHRASINGS).flat()]);
    for (const [family, wordings] of Object.entries(HELD_OUT_PHRASINGS)) {
      expect(new Set(wordings).size, family).toBeGreaterThanOrEqual(3);
      for (const wording of wordings) expect(training.has(wording), wording).toBe(false);
    }
  });

  it('re-words a question through its slots and keeps its answers, gold and entity', () => {
    const template = FACTBOOK_TEMPLATES.capital.template;
    const [draft] = heldOutPhrasingQuestions([
      {
        key: 'capital:ag',
        question: 'What is the capital city of Algeria?',
        answers: ['Algiers'],
        family: 'capital',
        template,
        source: 'factbook',
        entity: 'Algeria',
        gold: ['factbook:ag/Government'],
      },
    ]);
    expect(HELD_OUT_PHRASINGS.capital).toContain(draft!.template);
    expect(templateSlots(draft!.template)).toEqual(['country']);
    expect(draft!.question).toContain('Algeria');
    expect(draft!.question).not.toBe('What is the capital city of Algeria?');
    expect(draft).toMatchObject({ key: 'phrasing:capital:ag', answers: ['Algiers'], entity: 'Algeria' });
  });
});
