/**
 * Question templates over Factbook profiles: capital, anthem, highest point, internet code,
 * currency, long-form name, national-holiday date, flag description -> country, and two two-hop
 * bridges (anthem -> capital, capital -> highest point). Every question keeps all answer aliases
 * and the ids of the section documents that hold the answer.
 */
import type { FactbookProfile } from '../sources/factbook-source.js';
import type { QuestionDraft } from '../types.js';
import {
  anthemAliases,
  capitalAliases,
  currencyAliases,
  highestPointAliases,
  holidayDateAliases,
  internetCodeAliases,
  unique,
} from './answer-aliases.js';

interface Template {
  family: string;
  template: string;
}

/** The Factbook question templates by family (slots in braces). */
export const FACTBOOK_TEMPLATES = {
  capital: { family: 'capital', template: 'What is the capital city of {country}?' },
  anthem: { family: 'anthem', template: 'What is the name of the national anthem of {country}?' },
  highestPoint: { family: 'highest_point', template: 'What is the highest point in {country}?' },
  internetCode: {
    family: 'internet_code',
    template: 'What is the internet country code (top-level domain) of {country}?',
  },
  currency: { family: 'currency', template: 'What currency is used in {country}?' },
  longName: { family: 'long_name', template: 'What is the official long-form name of {country}?' },
  holiday: { family: 'national_holiday', template: 'On what date is the national holiday of {country} celebrated?' },
  flag: { family: 'flag_reverse', template: 'Which country has a flag described as: "{flag}"?' },
  anthemToCapital: {
    family: 'bridge_anthem_capital',
    template: 'What is the capital of the country whose national anthem is "{anthem}"?',
  },
  capitalToHighest: {
    family: 'bridge_capital_highest',
    template: 'What is the highest point of the country whose capital is {capital}?',
  },
} satisfies Record<string, Template>;

/** Generates every Factbook question the profiles support, in profile order. */
export function factbookQuestions(profiles: readonly FactbookProfile[]): QuestionDraft[] {
  const countries = profiles.filter(
    (profile) => profile.sectionDocIds.Government !== undefined && profile.capital !== undefined,
  );
  const drafts: QuestionDraft[] = [];
  const flagTexts = uniqueFlagTexts(countries);
  const anthemOwners = countOwners(countries, (profile) =>
    profile.anthem ? anthemAliases(profile.anthem)[0] : undefined,
  );
  const capitalOwners = countOwners(countries, (profile) => capitalAliases(profile.capital!)[0]);
  for (const profile of countries) {
    const government = profile.sectionDocIds.Government!;
    const geography = profile.sectionDocIds.Geography;
    const add = (
      template: Template,
      slots: Record<string, string>,
      answers: string[],
      gold: Array<string | undefined>,
    ) => {
      if (answers.length === 0 || gold.some((id) => id === undefined)) return;
      drafts.push({
        key: `${template.family}:${profile.code}`,
        question: fill(template.template, slots),
        answers,
        family: template.family,
        template: template.template,
        source: 'factbook',
        entity: profile.name,
        gold: gold as string[],
      });
    };
    const country = { country: profile.name };
    const capital = capitalAliases(profile.capital!);
    add(FACTBOOK_TEMPLATES.capital, country, capital, [government]);
    const anthem = profile.anthem ? anthemAliases(profile.anthem) : [];
    add(FACTBOOK_TEMPLATES.anthem, country, anthem, [government]);
    const highest = profile.highestPoint ? highestPointAliases(profile.highestPoint) : [];
    add(FACTBOOK_TEMPLATES.highestPoint, country, highest, [geography]);
    add(
      FACTBOOK_TEMPLATES.internetCode,
      country,
      profile.internetCode ? internetCodeAliases(profile.internetCode) : [],
      [profile.sectionDocIds.Communications],
    );
    add(FACTBOOK_TEMPLATES.currency, country, profile.exchangeRates ? currencyAliases(profile.exchangeRates) : [], [
      profile.sectionDocIds.Economy,
    ]);
    const longName = profile.longName?.replace(/;.*$/, '').trim();
    if (longName && longName.toLowerCase() !== profile.name.toLowerCase())
      add(FACTBOOK_TEMPLATES.longName, country, [longName], [government]);
    add(
      FACTBOOK_TEMPLATES.holiday,
      country,
      profile.nationalHoliday ? holidayDateAliases(profile.nationalHoliday) : [],
      [government],
    );
    const flag = flagTexts.get(profile.code);
    if (flag) add(FACTBOOK_TEMPLATES.flag, { flag }, unique(profile.names), [government]);
    // Bridges need a hop value that names exactly one country.
    if (anthem.length > 0 && anthemOwners.get(anthem[0]!) === 1) {
      add(FACTBOOK_TEMPLATES.anthemToCapital, { anthem: anthem[0]! }, capital, [government]);
    }
    if (highest.length > 0 && capitalOwners.get(capital[0]!) === 1) {
      add(FACTBOOK_TEMPLATES.capitalToHighest, { capital: capital[0]! }, highest, [government, geography]);
    }
  }
  return drafts;
}

/** Replaces `{slot}` markers in a template. */
export function fill(template: string, slots: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => slots[name] ?? `{${name}}`);
}

// The shortest prefix of clauses that identifies one flag and names none of the country's names.
function uniqueFlagTexts(profiles: readonly FactbookProfile[]): Map<string, string> {
  const clausesByCode = new Map(
    profiles.map((profile) => [
      profile.code,
      (profile.flagDescription ?? '')
        .split(';')
        .map((clause) => clause.trim())
        .filter(Boolean),
    ]),
  );
  const result = new Map<string, string>();
  for (const profile of profiles) {
    const clauses = clausesByCode.get(profile.code)!;
    for (let count = 1; count <= Math.min(2, clauses.length); count++) {
      const text = clauses.slice(0, count).join('; ');
      const shared = profiles.some(
        (other) => other.code !== profile.code && clausesByCode.get(other.code)!.slice(0, count).join('; ') === text,
      );
      if (shared) continue;
      // Substring test: "Croatian coat of arms" must not give away "Croatia" either.
      const lower = text.toLowerCase();
      if (text.split(/\s+/).length >= 4 && !profile.names.some((name) => lower.includes(name.toLowerCase())))
        result.set(profile.code, text);
      break;
    }
  }
  return result;
}

function countOwners(
  profiles: readonly FactbookProfile[],
  value: (profile: FactbookProfile) => string | undefined,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const profile of profiles) {
    const key = value(profile);
    if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
