/**
 * Training wordings (`task.trainingPhrasings: varied`): each trained kind asked in its template's
 * wording or one of three more, chosen by a hash of the question id, so that no kind is seen in one
 * wording only; field questions (field-questions.ts) likewise, in six more frames and with a field
 * sometimes named by its sub-label alone. The pool is disjoint from the held-out phrasings
 * (held-out-phrasings.ts), which stay evaluation-only; the leak check covers the re-worded rows.
 */
import { stableHash } from '../splits.js';
import type { QuestionRow } from '../types.js';
import { fill } from './factbook-questions.js';
import { FIELD_TEMPLATES } from './field-questions.js';
import { matchTemplate } from './template-pattern.js';

const INSTANCE_WORDINGS = [
  'Which {class} is this: {definition}?',
  'Tell me the {class} described here: {definition}.',
  'What is the name of the {class} described as: {definition}?',
];

/** The extra training wordings of each trained family, with the slots of the family's template. */
export const TRAINING_PHRASINGS: Readonly<Record<string, readonly string[]>> = {
  capital: [
    'Which city is the capital of {country}?',
    "{country}'s capital city is called what?",
    'Tell me the capital of {country}.',
  ],
  anthem: [
    'Which song is the national anthem of {country}?',
    "What is the title of {country}'s national anthem?",
    'Tell me the national anthem of {country}.',
  ],
  highest_point: [
    'Which is the highest mountain or point of {country}?',
    'What is the highest peak in {country}?',
    'Tell me the highest point of {country}.',
  ],
  internet_code: [
    "What is {country}'s internet country code?",
    'Which internet domain belongs to {country}?',
    'Tell me the country code top-level domain of {country}.',
  ],
  currency: [
    'What is the currency of {country}?',
    'Which currency does {country} use?',
    'Tell me the official currency of {country}.',
  ],
  long_name: [
    "What is {country}'s official name in long form?",
    'What is the long official name of {country}?',
    'Tell me the conventional long-form name of {country}.',
  ],
  national_holiday: [
    "What is the date of {country}'s national holiday?",
    'On which date does {country} hold its national holiday?',
    'Tell me when the national holiday of {country} is.',
  ],
  capital_of: [
    "Which country's capital is {capital}?",
    'What country is {capital} the capital of?',
    'Tell me the country whose capital is {capital}.',
  ],
  instance_person: INSTANCE_WORDINGS,
  instance_place: INSTANCE_WORDINGS,
  instance_other: INSTANCE_WORDINGS,
  element_symbol: [
    'What is the symbol of the element {element}?',
    'Which chemical symbol does {element} have?',
    'Tell me the chemical symbol for {element}.',
  ],
  element_by_number: [
    'What is the element with atomic number {number}?',
    'Atomic number {number} belongs to which chemical element?',
    'Tell me the chemical element whose atomic number is {number}.',
  ],
  element_discoverer: [
    'Who was the discoverer of the element {element}?',
    'Which person discovered {element}?',
    'Tell me who discovered {element}.',
  ],
};

const FIELD_FRAMES = [
  'Which {field} does {entity} have?',
  'Name the {field} of {entity}.',
  'In {entity}, what is the {field}?',
  'What {field} is recorded for {entity}?',
  '{entity} has which {field}?',
  'Give the {field} listed for {entity}.',
];

/**
 * The extra training wordings of field questions, by the question's template: the label in other
 * places of the sentence, after other question words, so that what a field question asks is found
 * by its label wherever it stands, not by a fixed frame around it (measured: held-out kinds greedy
 * EM after the demo's RL 0.080 -> 0.145, README lever O).
 */
export const FIELD_WORDINGS: Readonly<Record<string, readonly string[]>> = {
  ...Object.fromEntries(FIELD_TEMPLATES.map((template) => [template, FIELD_FRAMES])),
  'What is another name for {entity}?': [
    'Which other name does {entity} go by?',
    'Give another name of {entity}.',
    '{entity} is also called what?',
  ],
  'What group is {entity} a member of?': [
    'Which group does {entity} belong to?',
    '{entity} is a member of which group?',
    'Name the group that has {entity} as a member.',
  ],
  'Name a part of {entity}.': [
    'What is one part of {entity}?',
    'Which part does {entity} have?',
    '{entity} has which part?',
  ],
};

/**
 * A field named by label and sub-label ("land use (agricultural land)") is named, for half of the
 * questions, by its sub-label alone ("agricultural land") when that names something by itself (two
 * words or more, or a long word: not "total" or "male"): a question names what it asks in its own
 * words, as "What is the lowest point in X?" names the corpus's "Elevation extremes: lowest point".
 */
function fieldName(field: string, key: string): string {
  const sub = /^.+ \(([^()]+)\)$/.exec(field)?.[1];
  const standsAlone = sub !== undefined && (sub.includes(' ') || sub.length >= 7);
  return standsAlone && stableHash(`field:${key}`) % 2 === 0 ? sub : field;
}

/** The row in its template's wording or one of its training wordings (by a hash of its id). */
export function withTrainingWording(row: QuestionRow): QuestionRow {
  const wordings = TRAINING_PHRASINGS[row.family] ?? FIELD_WORDINGS[row.template];
  const slots = wordings ? matchTemplate(row.template, row.question) : undefined;
  if (!wordings || !slots) return row;
  if (slots.field !== undefined) {
    // A label holding " of " can split at the wrong " of ": re-word only a clean reading.
    if (slots.entity?.toLowerCase() !== row.entity.toLowerCase()) return row;
    slots.field = fieldName(slots.field, row.id);
  }
  const choice = stableHash(`wording:${row.id}`) % (wordings.length + 1);
  const template = choice === wordings.length ? row.template : wordings[choice]!;
  const question = fill(template, slots);
  return { ...row, question: question.charAt(0).toUpperCase() + question.slice(1), template };
}
