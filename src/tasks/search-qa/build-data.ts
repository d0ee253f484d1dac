/**
 * `buildSearchQaData`: assembles the corpus and the questions of one tier from the npm sources,
 * assigns entity-disjoint splits, adds the evaluation-only sets (held-out kinds and phrasings, from
 * test-split entities), checks that every answer occurs in its gold documents and writes
 * corpus.jsonl, questions.jsonl, manifest.json and NOTICES.md. The output is a pure function of
 * the tier and the source package versions: two builds give byte-identical files.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { DataError } from '../../errors.js';
import { DATA_FILES, defaultDataDir, toJsonLines, writeFileAtomic } from './data-files.js';
import { sourceNotices } from './notices.js';
import { elementQuestions } from './questions/element-questions.js';
import { factbookQuestions } from './questions/factbook-questions.js';
import { elementFieldQuestions, factbookFieldQuestions, wordnetFieldQuestions } from './questions/field-questions.js';
import {
  heldOutElementQuestions,
  heldOutFactbookQuestions,
  heldOutWordnetQuestions,
} from './questions/held-out-kinds.js';
import { heldOutPhrasingQuestions } from './questions/held-out-phrasings.js';
import {
  capitalOfQuestions,
  describableInstances,
  instanceQuestions,
  nationalCapitalPairs,
} from './questions/wordnet-questions.js';
import { readElements } from './sources/elements-source.js';
import { type FactbookProfile, readFactbook } from './sources/factbook-source.js';
import { SOURCE_PACKAGES } from './sources/package-files.js';
import { type NounSynset, readNounSynsets, synsetDocuments } from './sources/wordnet-source.js';
import { byHash, HELD_OUT_FAMILIES, splitOfEntity } from './splits.js';
import { matchKey, MatchableText, scoredAliases } from './text-match.js';
import type { CorpusDocument, QuestionDraft, QuestionRow, Split, Tier } from './types.js';

/** Options of `buildSearchQaData`. */
export interface BuildSearchQaDataOptions {
  tier: Tier;
  /** Output directory (default: `defaultDataDir(tier)`). */
  dir?: string;
  /** Receives one line per build step. */
  onProgress?: (message: string) => void;
}

/** Per-family counts and the answer-in-gold check. */
export interface FamilySummary {
  family: string;
  source: string;
  /** Questions generated before the answer-in-gold filter. */
  generated: number;
  /** Share of generated questions whose answer occurs in a gold document (title or text). */
  answerInGold: number;
  /** Kept questions per split. */
  splits: Record<string, number>;
}

/**
 * The format of a generated data directory: bumped when the questions change (2: the held-out
 * evaluation sets; 3: the training-only field questions; 4: the aliases as the corpus writes them
 * are scored too, `scoredAliases`), so that data built by an older version is rebuilt
 * (search-qa-task.ts).
 */
export const DATA_FORMAT = 'turnwise-search-qa/4';

/** What a build wrote, as stored in manifest.json. */
export interface SearchQaManifest {
  format: typeof DATA_FORMAT;
  tier: Tier;
  sources: Array<{ name: string; version: string }>;
  documents: number;
  questions: number;
  /** sha256 of corpus.jsonl: the search index is rebuilt when it changes. */
  corpusSha256: string;
  questionsSha256: string;
  families: FamilySummary[];
  /** Questions in each evaluation-only set (`heldout-kinds`, `heldout-phrasings`). */
  evaluationSets: Record<string, number>;
}

/** Tier S: a small deterministic slice for tests and CI. */
const TIER_S = { countries: 30, instances: 1500, questions: 300, evaluationSet: 40, fieldQuestions: 60 } as const;

/** Questions per evaluation-only set in tier M. */
const EVALUATION_SET_SIZE = 260;

/** Builds the data of one tier into a directory and returns its manifest. */
export function buildSearchQaData(options: BuildSearchQaDataOptions): SearchQaManifest & { dir: string } {
  const dir = path.resolve(options.dir ?? defaultDataDir(options.tier));
  const progress = options.onProgress ?? (() => {});
  const small = options.tier === 'S';

  const factbook = readFactbook();
  const countries = factbook.profiles.filter(
    (profile) => profile.sectionDocIds.Government !== undefined && profile.capital !== undefined,
  );
  const selectedCountries = small ? byHash(countries, (profile) => profile.code).slice(0, TIER_S.countries) : countries;
  const selectedCodes = new Set(selectedCountries.map((profile) => profile.code));
  const factbookDocuments = small
    ? factbook.documents.filter((document) => selectedCodes.has(document.id.slice('factbook:'.length).split('/')[0]!))
    : factbook.documents;
  progress(`factbook: ${selectedCountries.length} countries, ${factbookDocuments.length} section documents`);

  const synsets = readNounSynsets();
  const byOffset = new Map(synsets.map((synset) => [synset.offset, synset]));
  const countryIndex = countryNameIndex(countries);
  const canonicalEntity = (name: string) => countryIndex.get(matchKey(name))?.name ?? name;
  const countryAliases = (name: string) => countryIndex.get(matchKey(name))?.names ?? [];
  let instances = describableInstances(synsets);
  if (small) instances = byHash(instances, (synset) => synset.offset).slice(0, TIER_S.instances);
  let capitalDrafts = capitalOfQuestions(synsets, byOffset, canonicalEntity, countryAliases);
  let corpusSynsets: NounSynset[] = synsets;
  if (small) {
    const selectedNames = new Set(selectedCountries.map((profile) => profile.name));
    capitalDrafts = capitalDrafts.filter((draft) => selectedNames.has(draft.entity));
    const keep = new Set([
      ...instances.map((synset) => synset.offset),
      ...capitalDrafts.map((draft) => draft.gold[0]!.slice('wordnet:'.length)),
    ]);
    corpusSynsets = synsets.filter((synset) => keep.has(synset.offset));
  }
  const wordnetDocuments = synsetDocuments(corpusSynsets, byOffset);
  progress(`wordnet: ${wordnetDocuments.length} synset documents, ${instances.length} describable instances`);

  const elements = readElements();
  progress(`elements: ${elements.documents.length} documents`);

  const documents = [...factbookDocuments, ...wordnetDocuments, ...elements.documents];
  const wordnetIds = new Set(wordnetDocuments.map((document) => document.id));
  const capitalSynsets = nationalCapitalPairs(synsets, byOffset).filter(({ capital }) =>
    wordnetIds.has(`wordnet:${capital.offset}`),
  );
  const drafts = [
    ...withCapitalSynsetGold(factbookQuestions(selectedCountries), capitalSynsets, canonicalEntity),
    ...capitalDrafts,
    ...instanceQuestions(instances, byOffset, canonicalEntity),
    ...elementQuestions(elements.elements),
  ];
  const countryNames = new Set(countries.map((profile) => profile.name));
  const entitySplit = (draft: QuestionDraft) => splitOfEntity(draft.entity, countryNames.has(draft.entity));
  const summaries: Summaries = new Map();
  const finish = (batch: readonly QuestionDraft[], splitOf: SplitOf, sampleSize: number | undefined) =>
    finishQuestions(batch, documents, splitOf, sampleSize, summaries);
  const entityRows = finish(
    drafts,
    (draft) => (HELD_OUT_FAMILIES.has(draft.family) && entitySplit(draft) !== 'test' ? undefined : entitySplit(draft)),
    small ? TIER_S.questions : undefined,
  );
  progress(`questions: ${entityRows.length} kept of ${drafts.length} generated`);
  // Field questions: training only (train-split entities), many labels per source (field-questions.ts).
  const countryByCode = new Map(selectedCountries.map((profile) => [profile.code, profile.name]));
  const fieldDrafts = [
    ...factbookFieldQuestions(factbookDocuments, (document) =>
      countryByCode.get(document.id.slice('factbook:'.length).split('/')[0]!),
    ),
    ...elementFieldQuestions(elements.documents),
    ...wordnetFieldQuestions(wordnetDocuments, canonicalEntity),
  ];
  const fieldRows = finish(
    fieldDrafts,
    (draft) => (entitySplit(draft) === 'train' ? 'train' : undefined),
    small ? TIER_S.fieldQuestions : undefined,
  );
  progress(`field questions (training only): ${fieldRows.length} kept of ${fieldDrafts.length} generated`);
  // Evaluation-only sets: test-split entities only, so they share no entity with training.
  const evaluationSize = small ? TIER_S.evaluationSet : EVALUATION_SET_SIZE;
  const testOnly = (set: Split) => (draft: QuestionDraft) => (entitySplit(draft) === 'test' ? set : undefined);
  const heldOutKinds = finish(
    [
      ...heldOutFactbookQuestions(selectedCountries),
      ...heldOutElementQuestions(elements.elements),
      ...heldOutWordnetQuestions(synsets, byOffset, canonicalEntity, countryAliases).filter((draft) =>
        wordnetIds.has(draft.gold[0]!),
      ),
    ],
    testOnly('heldout-kinds'),
    evaluationSize,
  );
  const heldOutPhrasings = finish(heldOutPhrasingQuestions(drafts), testOnly('heldout-phrasings'), evaluationSize);
  progress(`evaluation sets: heldout-kinds ${heldOutKinds.length}, heldout-phrasings ${heldOutPhrasings.length}`);
  const rows = [...entityRows, ...fieldRows, ...heldOutKinds, ...heldOutPhrasings];
  const families = familySummaries(summaries, rows);

  const corpusText = toJsonLines(documents);
  const questionsText = toJsonLines(rows);
  const manifest: SearchQaManifest = {
    format: DATA_FORMAT,
    tier: options.tier,
    sources: Object.values(SOURCE_PACKAGES).map(({ name, version }) => ({ name, version })),
    documents: documents.length,
    questions: rows.length,
    corpusSha256: sha256(corpusText),
    questionsSha256: sha256(questionsText),
    families,
    evaluationSets: { 'heldout-kinds': heldOutKinds.length, 'heldout-phrasings': heldOutPhrasings.length },
  };
  writeFileAtomic(path.join(dir, DATA_FILES.corpus), corpusText);
  writeFileAtomic(path.join(dir, DATA_FILES.questions), questionsText);
  writeFileAtomic(path.join(dir, DATA_FILES.notices), sourceNotices());
  writeFileAtomic(path.join(dir, DATA_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  progress(`wrote ${dir}`);
  return { ...manifest, dir };
}

type Summaries = Map<string, FamilySummary & { supported: number }>;

/** The split of a draft, or undefined to drop it. */
type SplitOf = (draft: QuestionDraft) => Split | undefined;

/** Assigns splits (dropping what `splitOf` rejects) and answers missing from gold, samples to a size. */
function finishQuestions(
  drafts: readonly QuestionDraft[],
  documents: readonly CorpusDocument[],
  splitOf: SplitOf,
  sampleSize: number | undefined,
  summaries: Summaries,
): QuestionRow[] {
  const documentById = new Map(documents.map((document) => [document.id, document]));
  const seenKeys = new Set<string>();
  const goldTextCache = new Map<string, MatchableText>(); // the same section documents serve many questions
  let rows: QuestionRow[] = [];
  for (const draft of drafts) {
    if (seenKeys.has(draft.key)) throw new DataError(`search-qa build: two questions share the id ${draft.key}`);
    seenKeys.add(draft.key);
    const split = splitOf(draft);
    if (split === undefined) continue;
    const summary = summaries.get(draft.family) ?? {
      family: draft.family,
      source: draft.source,
      generated: 0,
      supported: 0,
      answerInGold: 0,
      splits: {},
    };
    summaries.set(draft.family, summary);
    summary.generated += 1;
    const goldKey = draft.gold.join('\n');
    let matchable = goldTextCache.get(goldKey);
    if (!matchable) {
      const goldText = draft.gold
        .map((id) => documentById.get(id))
        .map((document) => (document ? `${document.title}\n${document.text}` : ''))
        .join('\n');
      matchable = new MatchableText(goldText);
      goldTextCache.set(goldKey, matchable);
    }
    if (!draft.answers.some((answer) => matchable.contains(answer))) continue;
    summary.supported += 1;
    const { key, ...rest } = draft;
    rows.push({ id: key, ...rest, normalizedAnswers: scoredAliases(draft.answers), split });
  }
  if (sampleSize !== undefined) rows = balancedSample(rows, sampleSize);
  return rows;
}

/** The per-family summary of the kept rows, counts per split included. */
function familySummaries(summaries: Summaries, rows: readonly QuestionRow[]): FamilySummary[] {
  for (const row of rows) {
    const summary = summaries.get(row.family)!;
    summary.splits[row.split] = (summary.splits[row.split] ?? 0) + 1;
  }
  return [...summaries.values()].map(({ supported, ...summary }) => ({
    ...summary,
    answerInGold: summary.generated === 0 ? 0 : round(supported / summary.generated),
  }));
}

// Round-robin over families (in name order), each family in hash order, until `size` rows.
function balancedSample(rows: readonly QuestionRow[], size: number): QuestionRow[] {
  const byFamily = new Map<string, QuestionRow[]>();
  for (const row of byHash(rows, (row) => row.id)) {
    const list = byFamily.get(row.family) ?? [];
    list.push(row);
    byFamily.set(row.family, list);
  }
  const queues = [...byFamily.keys()].sort().map((family) => byFamily.get(family)!);
  const picked = new Set<QuestionRow>();
  for (let round = 0; picked.size < size && queues.some((queue) => queue.length > round); round++) {
    for (const queue of queues) {
      if (picked.size >= size) break;
      if (round < queue.length) picked.add(queue[round]!);
    }
  }
  return rows.filter((row) => picked.has(row));
}

/**
 * WordNet's capital synset ("Abuja: capital of Nigeria ... Part of: Nigeria") states a capital as
 * well as the Factbook does, so it joins the gold documents of the questions answered by a capital.
 */
function withCapitalSynsetGold(
  drafts: QuestionDraft[],
  pairs: ReadonlyArray<{ capital: NounSynset; country: NounSynset }>,
  canonicalEntity: (name: string) => string,
): QuestionDraft[] {
  const byCountry = new Map<string, NounSynset[]>();
  for (const { capital, country } of pairs) {
    const key = canonicalEntity(country.lemmas[0]!);
    byCountry.set(key, [...(byCountry.get(key) ?? []), capital]);
  }
  for (const draft of drafts) {
    if (draft.family !== 'capital' && draft.family !== 'bridge_anthem_capital') continue;
    const answers = new Set(draft.answers.map(matchKey));
    for (const capital of byCountry.get(draft.entity) ?? []) {
      if (capital.lemmas.some((lemma) => answers.has(matchKey(lemma)))) draft.gold.push(`wordnet:${capital.offset}`);
    }
  }
  return drafts;
}

function countryNameIndex(countries: readonly FactbookProfile[]): Map<string, FactbookProfile> {
  const index = new Map<string, FactbookProfile>();
  for (const profile of countries) {
    for (const name of profile.names) if (!index.has(matchKey(name))) index.set(matchKey(name), profile);
  }
  return index;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
