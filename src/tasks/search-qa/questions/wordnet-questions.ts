/**
 * Question templates over WordNet noun synsets: "which <class> is described as follows: <gloss>?"
 * for instance synsets (people, places, other named things) and "<capital> is the capital of which
 * country?" from the instance-of-national-capital and part-of links. Aliases are all the lemmas of
 * the synset; no surname aliases are derived (the first lemma already is the surname).
 */
import { LEXICOGRAPHER_FILES, type NounSynset } from '../sources/wordnet-source.js';
import type { QuestionDraft } from '../types.js';
import { MatchableText, matchKey } from '../text-match.js';
import { fill } from './factbook-questions.js';

/** The WordNet question templates. */
export const WORDNET_TEMPLATES = {
  describe: 'Which {class} is described as follows: {definition}?',
  capitalOf: '{capital} is the capital of which country?',
} as const;

const MIN_DEFINITION_WORDS = 8;

/** The family of an instance synset from its lexicographer file. */
export function instanceFamily(synset: NounSynset): string {
  if (synset.lexicographerFile === LEXICOGRAPHER_FILES.person) return 'instance_person';
  if (
    synset.lexicographerFile === LEXICOGRAPHER_FILES.location ||
    synset.lexicographerFile === LEXICOGRAPHER_FILES.object
  )
    return 'instance_place';
  return 'instance_other';
}

/**
 * Instance synsets that make answerable questions: definition of at least 8 words, a first clause
 * shared with no other candidate, and no lemma of the synset inside the definition.
 */
export function describableInstances(synsets: readonly NounSynset[]): NounSynset[] {
  const candidates = synsets.filter((synset) => {
    if (!synset.pointers.some((pointer) => pointer.symbol === '@i')) return false;
    if (synset.definition.split(/\s+/).length < MIN_DEFINITION_WORDS) return false;
    const matchable = new MatchableText(synset.definition);
    return !synset.lemmas.some((lemma) => matchable.contains(lemma));
  });
  const clauseCounts = new Map<string, number>();
  const firstClause = (synset: NounSynset) => matchKey(synset.definition.split(';')[0]!);
  for (const synset of candidates)
    clauseCounts.set(firstClause(synset), (clauseCounts.get(firstClause(synset)) ?? 0) + 1);
  return candidates.filter((synset) => clauseCounts.get(firstClause(synset)) === 1);
}

/** "Which <class> is described as follows: ...?" for each given instance synset. */
export function instanceQuestions(
  instances: readonly NounSynset[],
  byOffset: ReadonlyMap<string, NounSynset>,
  canonicalEntity: (name: string) => string,
): QuestionDraft[] {
  return instances.map((synset) => {
    const classOffset = synset.pointers.find((pointer) => pointer.symbol === '@i')!.target;
    const className = byOffset.get(classOffset)?.lemmas[0] ?? 'thing';
    const family = instanceFamily(synset);
    return {
      key: `${family}:${synset.offset}`,
      question: fill(WORDNET_TEMPLATES.describe, { class: className, definition: synset.definition }),
      answers: [...synset.lemmas],
      family,
      template: WORDNET_TEMPLATES.describe,
      source: 'wordnet',
      entity: canonicalEntity(synset.lemmas[0]!),
      gold: [`wordnet:${synset.offset}`],
    };
  });
}

/** National capitals with exactly one part-of link to a country, in file order. */
export function nationalCapitalPairs(
  synsets: readonly NounSynset[],
  byOffset: ReadonlyMap<string, NounSynset>,
): Array<{ capital: NounSynset; country: NounSynset }> {
  const nationalCapital = synsets.find((synset) => synset.lemmas[0] === 'national capital');
  if (!nationalCapital) return [];
  const pairs: Array<{ capital: NounSynset; country: NounSynset }> = [];
  for (const synset of synsets) {
    if (!synset.pointers.some((pointer) => pointer.symbol === '@i' && pointer.target === nationalCapital.offset))
      continue;
    const countries = synset.pointers
      .filter((pointer) => pointer.symbol === '#p')
      .map((pointer) => byOffset.get(pointer.target));
    if (countries.length === 1 && countries[0] !== undefined) pairs.push({ capital: synset, country: countries[0] });
  }
  return pairs;
}

/** National capitals with a part-of link to their country: "<capital> is the capital of which country?". */
export function capitalOfQuestions(
  synsets: readonly NounSynset[],
  byOffset: ReadonlyMap<string, NounSynset>,
  canonicalEntity: (name: string) => string,
  countryAliases: (name: string) => string[],
): QuestionDraft[] {
  const pairs = nationalCapitalPairs(synsets, byOffset);
  const capitalOwners = new Map<string, number>();
  for (const { capital } of pairs)
    capitalOwners.set(capital.lemmas[0]!, (capitalOwners.get(capital.lemmas[0]!) ?? 0) + 1);
  return pairs
    .filter(({ capital }) => capitalOwners.get(capital.lemmas[0]!) === 1)
    .map(({ capital, country }) => {
      const answers = [...new Set([...country.lemmas, ...countryAliases(country.lemmas[0]!)])];
      return {
        key: `capital_of:${capital.offset}`,
        question: fill(WORDNET_TEMPLATES.capitalOf, { capital: capital.lemmas[0]! }),
        answers,
        family: 'capital_of',
        template: WORDNET_TEMPLATES.capitalOf,
        source: 'wordnet',
        entity: canonicalEntity(country.lemmas[0]!),
        gold: [`wordnet:${capital.offset}`],
      };
    });
}
