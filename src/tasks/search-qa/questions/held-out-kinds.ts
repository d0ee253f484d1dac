/**
 * The held-out question kinds: relations the corpus states that no training template asks. From
 * the Factbook: lowest point, year of independence, nationality adjective, telephone country code,
 * national symbol; from the elements: element by symbol, category, period; from WordNet: what kind
 * of thing an instance is (its instance-of class) and what larger place holds it (part-of). These
 * questions are evaluation-only (the `heldout-kinds` set, test-split entities only: build-data.ts).
 */
import type { ElementRecord } from '../sources/elements-source.js';
import type { FactbookProfile } from '../sources/factbook-source.js';
import { LEXICOGRAPHER_FILES, type NounSynset } from '../sources/wordnet-source.js';
import type { QuestionDraft } from '../types.js';
import { firstClause, highestPointAliases, unique } from './answer-aliases.js';
import { fill } from './factbook-questions.js';

/** The held-out kinds' templates by family (slots in braces). */
export const HELD_OUT_KIND_TEMPLATES = {
  lowest_point: 'What is the lowest point in {country}?',
  independence_year: 'In which year did {country} become independent?',
  nationality_adjective: 'What adjective describes a person or thing from {country}?',
  calling_code: 'Which country code do you dial to telephone {country} from abroad?',
  national_symbol: 'Name a national symbol of {country}.',
  element_from_symbol: 'Which chemical element has the symbol {symbol}?',
  element_category: 'What category of chemical element is {element}?',
  element_period: 'In which period of the periodic table is {element}?',
  instance_class: 'What kind of {kind} is {name}?',
  place_part_of: 'Which larger place or country is {place} part of?',
} as const;

/** The family names of the held-out kinds. */
export const HELD_OUT_KIND_FAMILIES: ReadonlySet<string> = new Set(Object.keys(HELD_OUT_KIND_TEMPLATES));

const MONTHS = 'January|February|March|April|May|June|July|August|September|October|November|December';

type Family = keyof typeof HELD_OUT_KIND_TEMPLATES;

function draft(
  family: Family,
  key: string,
  slots: Record<string, string>,
  answers: string[],
  rest: Pick<QuestionDraft, 'source' | 'entity' | 'gold'>,
): QuestionDraft[] {
  if (answers.length === 0 || rest.gold.length === 0) return [];
  const template = HELD_OUT_KIND_TEMPLATES[family];
  return [{ key: `${family}:${key}`, question: fill(template, slots), answers, family, template, ...rest }];
}

/** "5 July 1962 (from France)" -> ["1962", "5 July 1962", "July 5, 1962"]; undefined without a year. */
export function independenceAliases(value: string): string[] {
  const clause = firstClause(value);
  const dated = new RegExp(`\\b(\\d{1,2}) (${MONTHS}) (\\d{3,4})\\b`).exec(clause);
  if (dated) return [dated[3]!, `${dated[1]} ${dated[2]} ${dated[3]}`, `${dated[2]} ${dated[1]}, ${dated[3]}`];
  const year = /\b(1[0-9]{3}|20[0-9]{2})\b/.exec(clause)?.[1];
  return year ? [year] : [];
}

/** "Motswana (singular), Batswana (plural)" -> ["Motswana", "Batswana"]. */
export function adjectiveAliases(value: string): string[] {
  return unique(
    firstClause(value)
      .split(/\s*(?:,|\bor\b|\/)\s*/)
      .map((part) => part.replace(/\s*\([^)]*\)/g, '').trim())
      .filter((part) => /^[A-Z]/.test(part) && part.split(/\s+/).length <= 3),
  );
}

/** "country code - 1-876; landing point ..." -> ["1-876", "+1-876"]. */
export function callingCodeAliases(value: string): string[] {
  const code = /country code\s*(?:-|:)?\s*\+?(\d{1,4}(?:-\d{1,4})?)\b/i.exec(value)?.[1];
  return code ? [code, `+${code}`] : [];
}

/** "star and crescent, fennec fox; national colors: green, white, red" -> ["star and crescent", "fennec fox"]. */
export function nationalSymbolAliases(value: string): string[] {
  return unique(
    value
      .split(/;\s*national (?:colors?|anthem)\b/i)[0]!
      .split(/\s*[,;]\s*/)
      .map((part) => part.replace(/\s*\([^)]*\)/g, '').trim())
      .filter((part) => part.length >= 3 && !/\bnote\b/i.test(part)),
  );
}

/** Factbook held-out kinds for the given profiles, in profile order. */
export function heldOutFactbookQuestions(profiles: readonly FactbookProfile[]): QuestionDraft[] {
  return profiles.flatMap((profile) => {
    const ids = profile.sectionDocIds;
    const country = { country: profile.name };
    const base = (section: string) => ({
      source: 'factbook',
      entity: profile.name,
      gold: ids[section] ? [ids[section]] : [],
    });
    return [
      ...draft(
        'lowest_point',
        profile.code,
        country,
        profile.lowestPoint ? highestPointAliases(profile.lowestPoint) : [],
        base('Geography'),
      ),
      ...draft(
        'independence_year',
        profile.code,
        country,
        profile.independence ? independenceAliases(profile.independence) : [],
        base('Government'),
      ),
      ...draft(
        'nationality_adjective',
        profile.code,
        country,
        profile.nationalityAdjective ? adjectiveAliases(profile.nationalityAdjective) : [],
        base('People and Society'),
      ),
      ...draft(
        'calling_code',
        profile.code,
        country,
        profile.telephoneInternational ? callingCodeAliases(profile.telephoneInternational) : [],
        base('Communications'),
      ),
      ...draft(
        'national_symbol',
        profile.code,
        country,
        profile.nationalSymbols ? nationalSymbolAliases(profile.nationalSymbols) : [],
        base('Government'),
      ),
    ];
  });
}

/** Element held-out kinds: element by symbol, category (known ones only) and period. */
export function heldOutElementQuestions(elements: readonly ElementRecord[]): QuestionDraft[] {
  return elements.flatMap((element) => {
    const base = { source: 'elements', entity: element.name, gold: [`elements:${element.number}`] };
    const name = { element: element.name.toLowerCase() };
    const category = element.category && !/unknown|predicted/i.test(element.category) ? [element.category] : [];
    return [
      ...draft('element_from_symbol', String(element.number), { symbol: element.symbol }, [element.name], base),
      ...draft('element_category', String(element.number), name, category, base),
      ...draft(
        'element_period',
        String(element.number),
        name,
        element.period === undefined ? [] : [String(element.period)],
        base,
      ),
    ];
  });
}

/**
 * WordNet held-out kinds over people and places whose first lemma names no other synset: the
 * class it is an instance of ("What kind of person is Mozart?" -> composer) and, for places,
 * what it is part of ("Which larger place or country is Lyon part of?" -> France).
 */
export function heldOutWordnetQuestions(
  synsets: readonly NounSynset[],
  byOffset: ReadonlyMap<string, NounSynset>,
  canonicalEntity: (name: string) => string,
  countryAliases: (name: string) => string[],
): QuestionDraft[] {
  const lemmaCounts = new Map<string, number>();
  for (const synset of synsets)
    for (const lemma of synset.lemmas) lemmaCounts.set(lemma, (lemmaCounts.get(lemma) ?? 0) + 1);
  const drafts: QuestionDraft[] = [];
  for (const synset of synsets) {
    const person = synset.lexicographerFile === LEXICOGRAPHER_FILES.person;
    const place = synset.lexicographerFile === LEXICOGRAPHER_FILES.location;
    const name = synset.lemmas[0]!;
    if ((!person && !place) || lemmaCounts.get(name) !== 1) continue;
    const classes = synset.pointers
      .filter((pointer) => pointer.symbol === '@i')
      .map((pointer) => byOffset.get(pointer.target))
      .filter((target): target is NounSynset => target !== undefined);
    if (classes.length !== 1) continue;
    const base = { source: 'wordnet', entity: canonicalEntity(name), gold: [`wordnet:${synset.offset}`] };
    drafts.push(
      ...draft(
        'instance_class',
        synset.offset,
        { kind: person ? 'person' : 'place', name },
        classes[0]!.lemmas.filter((lemma) => !synset.lemmas.includes(lemma)),
        base,
      ),
    );
    const holders = synset.pointers
      .filter((pointer) => pointer.symbol === '#p')
      .map((pointer) => byOffset.get(pointer.target))
      .filter((target): target is NounSynset => target !== undefined);
    if (place && holders.length === 1) {
      const holder = holders[0]!;
      drafts.push(
        ...draft(
          'place_part_of',
          synset.offset,
          { place: name },
          unique([...holder.lemmas, ...countryAliases(holder.lemmas[0]!)]),
          base,
        ),
      );
    }
  }
  return drafts;
}
