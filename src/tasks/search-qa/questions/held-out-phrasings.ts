/**
 * The held-out phrasings: each trained question kind asked in wordings that no training template
 * uses (three or four per kind, each with the kind's own slots). A question of the test split is
 * re-worded by reading its slots back from its template and filling one held-out wording, chosen
 * by a hash of its id; answers, gold documents and entity stay the same. Evaluation only (the
 * `heldout-phrasings` set, build-data.ts); the leak check (leak-check.ts) keeps training clear of them.
 */
import { stableHash } from '../splits.js';
import type { QuestionDraft } from '../types.js';
import { fill } from './factbook-questions.js';
import { matchTemplate } from './template-pattern.js';

const INSTANCE_PHRASINGS = [
  'Name the {class} that fits this description: {definition}.',
  'I am thinking of a {class}: {definition}. What is its name?',
  'This {class} can be summed up as "{definition}". Which one is it?',
  'Identify the {class} known for the following: {definition}.',
];

/** The held-out wordings of each trained family, with the same slots as the family's template. */
export const HELD_OUT_PHRASINGS: Readonly<Record<string, readonly string[]>> = {
  capital: [
    'Which city serves as the seat of government of {country}?',
    "Name {country}'s capital.",
    'From which city is {country} governed?',
  ],
  anthem: [
    "What is {country}'s national anthem called?",
    'Which song serves as the anthem of {country}?',
    'By what title is the national song of {country} known?',
  ],
  highest_point: [
    'Which summit is the tallest in {country}?',
    "Name {country}'s most elevated spot.",
    'Where is the highest elevation found in {country}?',
  ],
  internet_code: [
    'Which top-level domain do websites from {country} use?',
    'What web address ending is assigned to {country}?',
    "Name {country}'s two-letter internet domain.",
  ],
  currency: [
    "What is the name of {country}'s money?",
    'In {country}, prices are given in which currency?',
    'Which currency would you pay with when visiting {country}?',
  ],
  long_name: [
    'What is the full formal name of {country}?',
    'Spelled out in full, what is {country} officially called?',
    "Give {country}'s name in its complete official form.",
  ],
  national_holiday: [
    "When is {country}'s national day?",
    'Which day does {country} mark as its national holiday?',
    'What date is the main national celebration of {country}?',
  ],
  capital_of: [
    'Which country has {capital} as its capital?',
    'Of which nation is {capital} the seat of government?',
    '{capital} is the capital city of what nation?',
  ],
  instance_person: INSTANCE_PHRASINGS,
  instance_place: INSTANCE_PHRASINGS,
  instance_other: INSTANCE_PHRASINGS,
  element_symbol: [
    'Which letters stand for {element} on the periodic table?',
    'How is {element} abbreviated in chemical formulas?',
    'Give the one- or two-letter symbol for {element}.',
  ],
  element_by_number: [
    'Which element has {number} protons in each atom?',
    'Name element number {number} of the periodic table.',
    'An atom with {number} protons belongs to which element?',
  ],
  element_discoverer: [
    'Who is credited with the discovery of {element}?',
    'Which scientist first identified {element}?',
    '{element} was first discovered by whom?',
  ],
};

/** The held-out re-wording of each draft of a trained family (drafts of other families give none). */
export function heldOutPhrasingQuestions(drafts: readonly QuestionDraft[]): QuestionDraft[] {
  return drafts.flatMap((draft) => {
    const wordings = HELD_OUT_PHRASINGS[draft.family];
    const slots = wordings ? matchTemplate(draft.template, draft.question) : undefined;
    if (!wordings || !slots) return [];
    const template = wordings[stableHash(draft.key) % wordings.length]!;
    const question = capitalizeFirst(fill(template, slots));
    return [{ ...draft, key: `phrasing:${draft.key}`, question, template, gold: [...draft.gold] }];
  });
}

function capitalizeFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
