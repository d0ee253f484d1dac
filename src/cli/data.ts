/**
 * `turnwise data`: builds, inspects and imports the search-QA data.
 *
 *   turnwise data build [--tier S|M] [--out DIR] [--no-index]
 *   turnwise data search "query" [--tier S|M] [--dir DIR] [-k N] [--unit passage|document] [--max-chars N] [--raw]
 *   turnwise data stats [--tier S|M] [--dir DIR] [--split all|train|dev|test|heldout-kinds|heldout-phrasings]
 *                       [--per-family N] [--json]
 *   turnwise data import-triviaqa FILE... --out DIR [--split train|dev|test]
 *   turnwise data import-kilt FILE --out DIR [--max-articles N] [--passage-words N]
 *
 * The default directory of a tier is `$TURNWISE_DATA_DIR/<tier>` or `.turnwise/data/<tier>`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, DataError } from '../errors.js';
import { buildSearchQaData, type SearchQaManifest } from '../tasks/search-qa/build-data.js';
import { DATA_FILES, defaultDataDir, parseTier, toJsonLines, writeFileAtomic } from '../tasks/search-qa/data-files.js';
import { loadSearchQaDataset } from '../tasks/search-qa/dataset.js';
import { importKiltWikipedia } from '../tasks/search-qa/loaders/kilt-wikipedia.js';
import { readTriviaQa, triviaQaSplit, type TriviaQaSkipCounts } from '../tasks/search-qa/loaders/triviaqa.js';
import { markdownTable, retrievalStats } from '../tasks/search-qa/retrieval-stats.js';
import { openSearchIndex } from '../tasks/search-qa/search-index.js';
import { ENTITY_SPLITS, SPLITS, type QuestionRow, type Split } from '../tasks/search-qa/types.js';
import { createWikiSearchTool } from '../tasks/search-qa/wiki-search-tool.js';
import { checkOutputDirectory } from './cli-args.js';
import type { Command } from './command.js';

const USAGE = `usage: turnwise data <subcommand> [options]

  build [--tier S|M] [--out DIR] [--no-index] [--overwrite]
                                                  build corpus, questions and search index (--overwrite:
                                                  replace data already there)
  search "query" [--tier S|M] [--dir DIR] [-k N] [--unit passage|document] [--max-chars N] [--raw]
                                                  print ranked titles and snippets (--raw: the tool's exact output)
  stats [--tier S|M] [--dir DIR] [--split all|train|dev|test|heldout-kinds|heldout-phrasings] [--per-family N]
        [--json]                                  counts per split and family, answer-in-gold, BM25 gold@k / answer@k
  import-triviaqa FILE... --out DIR [--split train|dev|test] [--overwrite]
                                                  TriviaQA rc JSON or HF parquet -> DIR/questions.jsonl
  import-kilt FILE --out DIR [--max-articles N] [--passage-words N] [--overwrite]
                                                  KILT Wikipedia JSONL -> DIR/index.sqlite (streamed; passages of
                                                  N to 2N words, default 40)

Tier M is the default. The data directory defaults to $TURNWISE_DATA_DIR/<tier> or .turnwise/data/<tier>.`;

const SUBCOMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  build: runBuild,
  search: runSearch,
  stats: runStats,
  'import-triviaqa': runImportTriviaQa,
  'import-kilt': runImportKilt,
};

/** The `turnwise data` command. */
export const command: Command = {
  summary: 'build, search and inspect the search-QA corpus and questions; import TriviaQA and KILT Wikipedia',
  async run(args) {
    const [name, ...rest] = args;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      console.log(USAGE);
      return name === undefined ? 1 : 0;
    }
    const subcommand = SUBCOMMANDS[name];
    if (!subcommand)
      throw new ConfigError(
        `unknown subcommand ${JSON.stringify(name)}; expected one of ${Object.keys(SUBCOMMANDS).join(', ')}`,
      );
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(USAGE);
      return 0;
    }
    return subcommand(rest);
  },
};

function parse<Options extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: Options,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true as const });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n\n${USAGE}`);
  }
}

function positiveInteger(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0)
    throw new ConfigError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return number;
}

function dataDir(values: { tier?: string; dir?: string; out?: string }): string {
  const explicit = values.dir ?? values.out;
  if (explicit !== undefined) checkOutputDirectory(explicit, values.dir !== undefined ? '--dir' : '--out');
  return explicit !== undefined ? path.resolve(explicit) : defaultDataDir(parseTier(values.tier ?? 'M'));
}

async function runBuild(args: string[]): Promise<number> {
  const { values } = parse(args, {
    tier: { type: 'string' },
    out: { type: 'string' },
    'no-index': { type: 'boolean' },
    overwrite: { type: 'boolean' },
  });
  const tier = parseTier(values.tier ?? 'M');
  const dir = dataDir(values);
  refuseExisting(dir, Object.values(DATA_FILES), values.overwrite, 'rebuild it');
  const started = performance.now();
  const manifest = buildSearchQaData({ tier, dir, onProgress: (line) => console.log(`  ${line}`) });
  const dataSeconds = (performance.now() - started) / 1000;
  console.log(`data: ${manifest.documents} documents, ${manifest.questions} questions in ${dataSeconds.toFixed(1)} s`);
  console.log(markdownTable(familyRows(manifest)));
  if (!values['no-index']) {
    const indexStarted = performance.now();
    const index = await openSearchIndex(dir, { onProgress: (line) => console.log(`  ${line}`) });
    const indexSeconds = (performance.now() - indexStarted) / 1000;
    console.log(
      `index: ${index.documentCount} documents, ${index.passageCount} passages in ${indexSeconds.toFixed(1)} s`,
    );
    index.close();
  }
  for (const file of Object.values(DATA_FILES)) {
    const filePath = path.join(dir, file);
    if (existsSync(filePath)) console.log(`  ${file.padEnd(16)} ${(statSync(filePath).size / 1e6).toFixed(1)} MB`);
  }
  console.log(`wrote ${dir}`);
  return 0;
}

/** Refuses to write over data files already in `dir` unless `overwrite` was given. */
function refuseExisting(dir: string, files: string[], overwrite: boolean | undefined, action: string): void {
  const existing = files.filter((file) => existsSync(path.join(dir, file)));
  if (existing.length > 0 && !overwrite)
    throw new ConfigError(
      `${dir} already holds ${existing.join(', ')}; give --overwrite to ${action}, or another --out DIR`,
    );
}

function familyRows(manifest: SearchQaManifest) {
  return manifest.families.map((family) => ({
    family: family.family,
    source: family.source,
    generated: family.generated,
    answer_in_gold: family.answerInGold,
    ...Object.fromEntries(SPLITS.map((split) => [split, family.splits[split] ?? 0])),
  }));
}

async function runSearch(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      tier: { type: 'string' },
      dir: { type: 'string' },
      k: { type: 'string', short: 'k' },
      unit: { type: 'string' },
      'max-chars': { type: 'string' },
      raw: { type: 'boolean' },
    },
    true,
  );
  if (positionals.length === 0)
    throw new ConfigError('data search needs a query, e.g. turnwise data search "highest point of Germany"');
  const unit = values.unit ?? 'passage';
  if (unit !== 'passage' && unit !== 'document')
    throw new ConfigError(`--unit must be passage or document, got ${JSON.stringify(unit)}`);
  const query = positionals.join(' ');
  const k = positiveInteger(values.k, '-k', 5);
  const index = await openSearchIndex(dataDir(values), { onProgress: (line) => console.log(`  ${line}`) });
  try {
    if (values.raw) {
      const tool = createWikiSearchTool(index, {
        k,
        unit,
        maxCharacters: positiveInteger(values['max-chars'], '--max-chars', 1200),
      });
      console.log(tool.run(query).text);
      return 0;
    }
    const started = performance.now();
    const hits = index.search(query, { k, unit });
    const milliseconds = performance.now() - started;
    if (hits.length === 0) console.log('No relevant content found.');
    hits.forEach((hit, rank) => {
      const snippet = hit.text.replace(/\s+/g, ' ').slice(0, positiveInteger(values['max-chars'], '--max-chars', 240));
      console.log(
        `${rank + 1}. ${hit.title}  [${hit.docId}, passage ${hit.passage}, ` +
          `bm25 ${hit.score.toFixed(2)}]\n   ${snippet}`,
      );
    });
    console.log(`(${hits.length} hits in ${milliseconds.toFixed(1)} ms)`);
  } finally {
    index.close();
  }
  return 0;
}

async function runStats(args: string[]): Promise<number> {
  const { values } = parse(args, {
    tier: { type: 'string' },
    dir: { type: 'string' },
    split: { type: 'string' },
    'per-family': { type: 'string' },
    json: { type: 'boolean' },
  });
  const dir = dataDir(values);
  const split = values.split ?? 'all';
  if (split !== 'all' && !SPLITS.includes(split as Split))
    throw new ConfigError(`--split must be all or one of ${SPLITS.join(', ')}, got ${JSON.stringify(split)}`);
  const rows = loadSearchQaDataset(dir, split as Split | 'all');
  const perFamily =
    values['per-family'] === undefined ? Infinity : positiveInteger(values['per-family'], '--per-family', 1);
  const manifestPath = path.join(dir, DATA_FILES.manifest);
  const manifest = existsSync(manifestPath)
    ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as SearchQaManifest)
    : undefined;
  const counts = countsBySplit(rows);
  const index = await openSearchIndex(dir, { onProgress: (line) => console.log(`  ${line}`) });
  try {
    const tool = createWikiSearchTool(index);
    const sample = firstPerFamily(rows, perFamily);
    const started = performance.now();
    const retrieval = retrievalStats(index, sample, tool.settings);
    const seconds = (performance.now() - started) / 1000;
    if (values.json) {
      console.log(JSON.stringify({ dir, split, counts, families: manifest?.families, retrieval }, null, 2));
      return 0;
    }
    console.log(
      `${dir}: ${rows.length} questions (${split}), ${index.documentCount} documents, ${index.passageCount} passages\n`,
    );
    console.log(
      markdownTable(
        counts.map((row) => ({
          ...row,
          answer_in_gold: manifest?.families.find((family) => family.family === row.family)?.answerInGold ?? '-',
        })),
      ),
    );
    console.log(
      `\nBM25 with the question as the query (${sample.length} questions, ` +
        `${seconds.toFixed(1)} s); output = the wiki_search tool's text ` +
        `(k ${tool.settings.k}, ${tool.settings.unit}s, ${tool.settings.maxCharacters} ` +
        `characters); doc head = top-1 document cut to the same budget:\n`,
    );
    console.log(
      markdownTable(
        retrieval.map((row) => ({
          family: row.family,
          n: row.questions,
          'gold@1': row.gold1,
          'gold@5': row.gold5,
          'gold@20': row.gold20,
          'ans@1': row.answer1,
          'ans@5': row.answer5,
          'ans in output': row.answerInOutput,
          'gold ans in output': row.goldAnswerInOutput,
          'ans in doc head': row.answerInDocumentHead,
        })),
      ),
    );
  } finally {
    index.close();
  }
  return 0;
}

function countsBySplit(rows: readonly QuestionRow[]) {
  // The entity splits always, the evaluation-only sets when the data has them.
  const present = new Set(rows.map((row) => row.split));
  const shown = SPLITS.filter((split) => (ENTITY_SPLITS as readonly string[]).includes(split) || present.has(split));
  const byFamily = new Map<string, Record<string, number>>();
  for (const row of rows) {
    const counts = byFamily.get(row.family) ?? Object.fromEntries(shown.map((split) => [split, 0]));
    counts[row.split] = (counts[row.split] ?? 0) + 1;
    byFamily.set(row.family, counts);
  }
  const table = [...byFamily.entries()].map(([family, counts]) => ({
    family,
    ...counts,
    total: shown.reduce((sum, split) => sum + (counts[split] ?? 0), 0),
  }));
  const total = Object.fromEntries(shown.map((split) => [split, rows.filter((row) => row.split === split).length]));
  return [...table, { family: 'all', ...total, total: rows.length }];
}

function firstPerFamily(rows: readonly QuestionRow[], limit: number): QuestionRow[] {
  const seen = new Map<string, number>();
  return rows.filter((row) => {
    const count = seen.get(row.family) ?? 0;
    seen.set(row.family, count + 1);
    return count < limit;
  });
}

async function runImportTriviaQa(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { out: { type: 'string' }, split: { type: 'string' }, overwrite: { type: 'boolean' } },
    true,
  );
  if (positionals.length === 0 || values.out === undefined)
    throw new ConfigError('data import-triviaqa needs FILE... and --out DIR');
  checkOutputDirectory(values.out, '--out');
  const split = values.split === undefined ? undefined : triviaQaSplit(values.split);
  if (values.split !== undefined && split === undefined)
    throw new ConfigError(`--split must be train, dev or test, got ${JSON.stringify(values.split)}`);
  const rows: QuestionRow[] = [];
  const skipped: TriviaQaSkipCounts = { withoutAnswer: 0 };
  for (const file of positionals) {
    for await (const row of readTriviaQa(
      file,
      { split, onProgress: (count) => console.log(`  ${file}: ${count} questions`) },
      skipped,
    ))
      rows.push(row);
  }
  const dir = path.resolve(values.out);
  if (rows.length === 0)
    throw new DataError(
      `${positionals.join(', ')} yielded 0 questions (${skipped.withoutAnswer} without an answer); ` +
        `expected TriviaQA rc JSON or parquet with answered questions; ${dir} was left as it was`,
    );
  refuseExisting(dir, [DATA_FILES.questions], values.overwrite, 'replace them');
  writeFileAtomic(path.join(dir, DATA_FILES.questions), toJsonLines(rows));
  const bySplit = SPLITS.map((name) => `${name} ${rows.filter((row) => row.split === name).length}`).join(', ');
  console.log(
    `wrote ${rows.length} questions (${bySplit}) to ${path.join(dir, DATA_FILES.questions)}; ` +
      `skipped ${skipped.withoutAnswer} without an answer`,
  );
  return 0;
}

async function runImportKilt(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      out: { type: 'string' },
      'max-articles': { type: 'string' },
      'passage-words': { type: 'string' },
      overwrite: { type: 'boolean' },
    },
    true,
  );
  if (positionals.length !== 1 || values.out === undefined)
    throw new ConfigError('data import-kilt needs one FILE and --out DIR');
  refuseExisting(path.resolve(values.out), [DATA_FILES.index], values.overwrite, 'replace it');
  checkOutputDirectory(values.out, '--out');
  const passageWords =
    values['passage-words'] === undefined ? undefined : positiveInteger(values['passage-words'], '--passage-words', 40);
  const started = performance.now();
  const counts = await importKiltWikipedia(positionals[0]!, path.resolve(values.out), {
    maxArticles:
      values['max-articles'] === undefined ? undefined : positiveInteger(values['max-articles'], '--max-articles', 1),
    passages: passageWords === undefined ? undefined : { targetWords: passageWords, maxWords: 2 * passageWords },
    onProgress: (line) => console.log(`  ${line}`),
  });
  console.log(
    `indexed ${counts.documents} articles (${counts.passages} passages) ` +
      `in ${((performance.now() - started) / 1000).toFixed(1)} s into ${values.out}`,
  );
  return 0;
}
