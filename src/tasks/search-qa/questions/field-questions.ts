/**
 * Field questions: one question per `Label: value` line of a corpus document, asked by naming the
 * label ("What is the coastline of Algeria?" -> "998 km"). Training only (train-split entities;
 * build-data.ts), many labels per source, so the policy learns to search for the field a question
 * names and copy its value from the result, not a few fixed relations by heart. Labels that a
 * trained family asks, or that a held-out kind asks (held-out-kinds.ts), are never used: the
 * held-out kinds stay relations no training question asks, and `FIELD_LABELS_LEFT_OUT` lists them
 * for the test that checks it.
 */
import type { CorpusDocument, QuestionDraft } from '../types.js';
import { byHash, stableHash } from '../splits.js';
import { unique } from './answer-aliases.js';
import { fill } from './factbook-questions.js';

/** The families of field questions, one per source. */
export const FIELD_FAMILIES = ['field_factbook', 'field_elements', 'field_wordnet'] as const;

/** Labels never asked (lower case, the label before any sub-label): held-out kinds, then trained families. */
export const FIELD_LABELS_LEFT_OUT: Readonly<Record<string, readonly string[]>> = {
  factbook: [
    // held-out kinds
    'elevation extremes',
    'independence',
    'nationality',
    'telephone system',
    'national symbol(s)',
    // trained families and their answers' sections
    'capital',
    'national anthem',
    'internet country code',
    'exchange rates',
    'country name',
    'national holiday',
    'flag description',
  ],
  // held-out: category, period, element from symbol; trained: symbol, atomic number, discoverer
  elements: ['category', 'period', 'symbol', 'atomic number', 'discovered by'],
  // held-out: instance_class (Instance of), place_part_of (Part of); Kind of is their close kin
  wordnet: ['instance of', 'part of', 'kind of'],
};

/** The wordings of a field question (chosen by a hash of the question's key). */
export const FIELD_TEMPLATES = [
  'What is the {field} of {entity}?',
  'Tell me the {field} of {entity}.',
  'For {entity}, what is listed as the {field}?',
  '{entity}: what is its {field}?',
  'Look up the {field} of {entity}.',
] as const;

/** The WordNet relations asked, each in its own words (the label is not a noun phrase). */
const WORDNET_TEMPLATES: Readonly<Record<string, string>> = {
  'also called': 'What is another name for {entity}?',
  'member of': 'What group is {entity} a member of?',
  'has part': 'Name a part of {entity}.',
};

/** A value short enough to be an answer: its first clause without notes or trailing parentheses, at most 6 words. */
export function fieldAnswer(value: string): string | undefined {
  let clause = value.split(';')[0]!.replace(/\s+/g, ' ').trim();
  // Trailing parentheses only ("998 km (2013)"): one inside ("Arabic (official), French") makes no answer.
  while (/\([^()]*\)$/.test(clause)) clause = clause.replace(/\s*\([^()]*\)$/, '');
  clause = clause.replace(/[\s,:.-]+$/, '');
  if (/[()]/.test(clause) || clause.length < 2 || clause.length > 40 || clause.split(' ').length > 6) return undefined;
  if (/\bnote\b|\bNA\b|:/i.test(clause)) return undefined;
  return clause;
}

/** The `Label: value` and `Label: sub-label: value` lines of a text. */
export function fieldLines(text: string): Array<{ label: string; sub?: string; value: string }> {
  const lines: Array<{ label: string; sub?: string; value: string }> = [];
  for (const line of text.split('\n')) {
    const top = /^([A-Z][^:]{1,50}): (.+)$/.exec(line);
    if (!top) continue;
    const nested = /^([a-z][^:]{1,40}): (.+)$/.exec(top[2]!);
    if (nested) lines.push({ label: top[1]!, sub: nested[1]!, value: nested[2]! });
    else lines.push({ label: top[1]!, value: top[2]! });
  }
  return lines;
}

function leftOut(source: string, label: string): boolean {
  return (FIELD_LABELS_LEFT_OUT[source] ?? []).includes(label.toLowerCase());
}

/** The question of one line; without a template of its own, one of FIELD_TEMPLATES by a hash of its key. */
function draftOf(
  family: (typeof FIELD_FAMILIES)[number],
  document: CorpusDocument,
  lineIndex: number,
  slots: Record<string, string>,
  answers: string[],
  entity: string,
  ownTemplate?: string,
): QuestionDraft {
  const key = `${family}:${document.id}:${lineIndex}`;
  const template = ownTemplate ?? FIELD_TEMPLATES[stableHash(key) % FIELD_TEMPLATES.length]!;
  return {
    key,
    question: fill(template, slots),
    answers,
    family,
    template,
    source: document.source,
    entity,
    gold: [document.id],
  };
}

/**
 * Field questions of Factbook section documents (at most `perDocument` of each, chosen by hash),
 * with the country's name as the entity (`countryOf` maps a document to it; undefined skips it).
 */
export function factbookFieldQuestions(
  documents: readonly CorpusDocument[],
  countryOf: (document: CorpusDocument) => string | undefined,
  perDocument = 4,
): QuestionDraft[] {
  const drafts: QuestionDraft[] = [];
  for (const document of documents) {
    const country = countryOf(document);
    if (country === undefined) continue;
    const candidates = fieldLines(document.text).flatMap((line, index) => {
      if (leftOut('factbook', line.label) || /note$/i.test(line.sub ?? line.label)) return [];
      const answer = fieldAnswer(line.value);
      if (answer === undefined) return [];
      const field = (line.sub ? `${line.label} (${line.sub})` : line.label).toLowerCase();
      return [{ index, field, answer }];
    });
    // Each label once per document: "Area: total" and "Area: land" would ask one question twice.
    const seen = new Set<string>();
    const picked = byHash(candidates, ({ index }) => `${document.id}:${index}`)
      .filter(({ field }) => !seen.has(field) && Boolean(seen.add(field)))
      .slice(0, perDocument);
    for (const { index, field, answer } of picked)
      drafts.push(draftOf('field_factbook', document, index, { field, entity: country }, [answer], country));
  }
  return drafts;
}

/** Field questions of element documents: the fields no element family asks (named by, phase, atomic mass). */
export function elementFieldQuestions(documents: readonly CorpusDocument[]): QuestionDraft[] {
  return documents.flatMap((document) => {
    const element = document.title.replace(/\s*\(chemical element\)$/, '');
    return fieldLines(document.text).flatMap((line, index) => {
      if (line.sub !== undefined || leftOut('elements', line.label)) return [];
      const answer = fieldAnswer(line.value);
      if (answer === undefined) return [];
      const slots = { field: line.label.toLowerCase(), entity: element.toLowerCase() };
      return [draftOf('field_elements', document, index, slots, [answer], element)];
    });
  });
}

/**
 * WordNet relation questions (another name, member of, a part): from documents whose title names
 * one synset (no sense in parentheses), at most `limit` of them chosen by hash; `entityOf` gives
 * the entity a name stands for (a country's canonical name).
 */
export function wordnetFieldQuestions(
  documents: readonly CorpusDocument[],
  entityOf: (name: string) => string,
  limit = 3000,
): QuestionDraft[] {
  const drafts: QuestionDraft[] = [];
  for (const document of documents) {
    if (/[()]/.test(document.title)) continue;
    for (const [index, line] of fieldLines(document.text).entries()) {
      const label = line.label.toLowerCase();
      const template = WORDNET_TEMPLATES[label];
      if (template === undefined || line.sub !== undefined || leftOut('wordnet', label)) continue;
      const answers = unique(line.value.split(/,\s*/).map((part) => part.trim())).filter(
        (part) => part.length > 1 && part.toLowerCase() !== document.title.toLowerCase(),
      );
      if (answers.length === 0) continue;
      drafts.push(
        draftOf(
          'field_wordnet',
          document,
          index,
          { entity: document.title },
          answers,
          entityOf(document.title),
          template,
        ),
      );
    }
  }
  return byHash(drafts, (draft) => draft.key).slice(0, limit);
}
