/**
 * Question templates over the chemical elements: symbol, element by atomic number, discoverer.
 * Discoverer strings "A and B" become separate people with surname aliases; dates, places and
 * eras ("5000 BC", "Middle East") make no question, and institutions get no surname alias.
 */
import type { ElementRecord } from '../sources/elements-source.js';
import type { QuestionDraft } from '../types.js';
import { unique } from './answer-aliases.js';
import { fill } from './factbook-questions.js';

/** The element question templates. */
export const ELEMENT_TEMPLATES = {
  symbol: 'What is the chemical symbol of the element {element}?',
  byNumber: 'Which chemical element has the atomic number {number}?',
  discoverer: 'Who discovered the chemical element {element}?',
} as const;

// Alternative spellings accepted as answers.
const ELEMENT_NAME_ALIASES: Record<string, string[]> = {
  Aluminium: ['Aluminum'],
  Cesium: ['Caesium'],
  Sulfur: ['Sulphur'],
};

const NOT_A_DISCOVERER = /\b(BC|BCE|AD|ancient|unknown|age|middle east|india|china|egypt|prehistoric)\b/i;
const INSTITUTION = /\b(laboratory|institute|research|gesellschaft|centre|center|university|riken)\b/i;

/** The people (or institution) named by a discoverer string, each with its aliases. */
export function discovererAliases(discoveredBy: string): string[] {
  if (NOT_A_DISCOVERER.test(discoveredBy)) return [];
  const cleaned = discoveredBy.replace(/\s*\([^)]*\)/g, '').trim();
  if (INSTITUTION.test(cleaned)) return [cleaned];
  const people = cleaned
    .split(/\s*(?:,|\band\b|&)\s*/)
    .map((person) => person.trim())
    .filter((person) => person.length > 0);
  const surnames = people.map((person) => person.split(/\s+/).at(-1)!).filter((surname) => surname.length >= 3);
  return unique([...people, ...surnames]);
}

/** Symbol, by-number and discoverer questions for every element. */
export function elementQuestions(elements: readonly ElementRecord[]): QuestionDraft[] {
  const drafts: QuestionDraft[] = [];
  for (const element of elements) {
    const base = { source: 'elements', entity: element.name, gold: [`elements:${element.number}`] };
    drafts.push({
      ...base,
      key: `element_symbol:${element.number}`,
      question: fill(ELEMENT_TEMPLATES.symbol, { element: element.name.toLowerCase() }),
      answers: [element.symbol],
      family: 'element_symbol',
      template: ELEMENT_TEMPLATES.symbol,
    });
    drafts.push({
      ...base,
      key: `element_by_number:${element.number}`,
      question: fill(ELEMENT_TEMPLATES.byNumber, { number: String(element.number) }),
      answers: [element.name, ...(ELEMENT_NAME_ALIASES[element.name] ?? [])],
      family: 'element_by_number',
      template: ELEMENT_TEMPLATES.byNumber,
    });
    const discoverers = element.discoveredBy ? discovererAliases(element.discoveredBy) : [];
    if (discoverers.length > 0) {
      drafts.push({
        ...base,
        key: `element_discoverer:${element.number}`,
        question: fill(ELEMENT_TEMPLATES.discoverer, { element: element.name.toLowerCase() }),
        answers: discoverers,
        family: 'element_discoverer',
        template: ELEMENT_TEMPLATES.discoverer,
      });
    }
  }
  return drafts;
}
