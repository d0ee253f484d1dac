// Benchmark of the search-QA data and index: build times, sizes, and query latency of the FTS5
// index with the questions as queries (p50, p99, queries/s, single thread), for raw top-k search
// and for the wiki_search tool's budgeted output. Prints a table.
//   nice npx tsx scripts/bench-search-index.ts [--tier S|M] [--dir DIR] [--queries N] [--rebuild]
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildSearchQaData } from '../src/tasks/search-qa/build-data.js';
import { DATA_FILES, defaultDataDir, parseTier } from '../src/tasks/search-qa/data-files.js';
import { loadSearchQaDataset } from '../src/tasks/search-qa/dataset.js';
import { markdownTable } from '../src/tasks/search-qa/retrieval-stats.js';
import Database from 'better-sqlite3';
import { toFtsExpression } from '../src/tasks/search-qa/fts-query.js';
import {
  corpusContentKey,
  integrityProblem,
  openSearchIndex,
  RANKED_PASSAGES_SQL,
} from '../src/tasks/search-qa/search-index.js';
import { SearchWorker } from '../src/tasks/search-qa/search-worker.js';
import { createWikiSearchTool } from '../src/tasks/search-qa/wiki-search-tool.js';

const { values } = parseArgs({
  options: {
    tier: { type: 'string' },
    dir: { type: 'string' },
    queries: { type: 'string' },
    rebuild: { type: 'boolean' },
  },
});
const tier = parseTier(values.tier ?? 'M');
const dir = path.resolve(values.dir ?? defaultDataDir(tier));
const queryCount = Number(values.queries ?? 2000);

const rows: Array<Record<string, string | number>> = [];
const time = <T>(label: string, run: () => T): T => {
  const started = performance.now();
  const result = run();
  rows.push({ measurement: label, value: ((performance.now() - started) / 1000).toFixed(2), unit: 's' });
  return result;
};

if (values.rebuild || !existsSync(path.join(dir, DATA_FILES.corpus))) {
  time(`data build (tier ${tier})`, () => buildSearchQaData({ tier, dir }));
}
if (values.rebuild) rmSync(path.join(dir, DATA_FILES.index), { force: true });
const indexStarted = performance.now();
const index = await openSearchIndex(dir);
rows.push({
  measurement: 'index open (build if stale)',
  value: ((performance.now() - indexStarted) / 1000).toFixed(2),
  unit: 's',
});
// The integrity check every open runs (SQLite quick_check), against the corpus hash every open
// already computed before it (the reference, measured in the same run).
const timed = async (run: () => unknown): Promise<number> => {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
};
let damage: string | undefined;
const checkSeconds = await timed(() => {
  damage = integrityProblem(path.join(dir, DATA_FILES.index));
});
const hashSeconds = await timed(() => corpusContentKey(dir));
rows.push(
  { measurement: `quick_check on open (${damage ?? 'ok'})`, value: checkSeconds.toFixed(3), unit: 's' },
  { measurement: 'corpus hash on open (reference)', value: hashSeconds.toFixed(3), unit: 's' },
  { measurement: 'quick_check / corpus hash', value: (checkSeconds / hashSeconds).toFixed(2), unit: 'ratio' },
);
for (const file of [DATA_FILES.corpus, DATA_FILES.questions, DATA_FILES.index]) {
  rows.push({ measurement: `size ${file}`, value: (statSync(path.join(dir, file)).size / 1e6).toFixed(1), unit: 'MB' });
}
rows.push(
  { measurement: 'documents', value: index.documentCount, unit: '' },
  { measurement: 'passages', value: index.passageCount, unit: '' },
);

const questions = loadSearchQaDataset(dir).map((row) => row.question);
const queries = Array.from(
  { length: Math.min(queryCount, questions.length) },
  (_, i) => questions[Math.floor((i * questions.length) / Math.min(queryCount, questions.length))]!,
);
const tool = createWikiSearchTool(index);

async function measure(label: string, run: (query: string) => unknown): Promise<number> {
  for (const query of queries.slice(0, 50)) await run(query); // warm-up
  const latencies: number[] = [];
  const started = performance.now();
  for (const query of queries) {
    const t = performance.now();
    await run(query);
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  rows.push({ measurement: `${label}: p50`, value: at(0.5).toFixed(2), unit: 'ms' });
  rows.push({ measurement: `${label}: p99`, value: at(0.99).toFixed(2), unit: 'ms' });
  rows.push({ measurement: `${label}: throughput`, value: (queries.length / seconds).toFixed(0), unit: 'queries/s' });
  return (1000 * seconds) / queries.length;
}

await measure('search k=5 (passages)', (query) => index.search(query, { k: 5 }));
await measure('wiki_search tool output (k=3, 1200 chars)', (query) => tool.run(query));

// Where a query's time goes: finding the matching passages, ranking them all by bm25(), the rest.
const database = new Database(index.path, { readonly: true, fileMustExist: true });
const countMatches = database.prepare('SELECT count(*) FROM passages WHERE passages MATCH ?').pluck();
const ranked = database.prepare(RANKED_PASSAGES_SQL);
const expressions = new Map(queries.map((query) => [query, toFtsExpression(query)]));
let matches = 0;
for (const expression of expressions.values()) if (expression) matches += countMatches.get(expression) as number;
const matchMs = await measure('FTS5 MATCH only (count the matching passages)', (query) => {
  const expression = expressions.get(query);
  return expression && countMatches.get(expression);
});
const rankMs = await measure('MATCH + bm25() ORDER BY rank LIMIT 4 (k=1)', (query) => {
  const expression = expressions.get(query);
  return expression && ranked.all(expression, 4);
});
const searchMs = await measure('search k=1 (the demo preset)', (query) => index.search(query, { k: 1 }));
database.close();
const worker = await SearchWorker.open(index.path);
const workerMs = await measure('search k=1 in a SearchWorker (round trip, idle main thread)', (query) =>
  worker.search(query, { k: 1 }),
);
await worker.close();
rows.push(
  { measurement: 'matching passages per query (mean)', value: (matches / queries.length).toFixed(0), unit: '' },
  { measurement: 'ranked / MATCH only (mean time)', value: (rankMs / matchMs).toFixed(1), unit: 'ratio' },
  { measurement: 'search k=1 / ranked query (mean time)', value: (searchMs / rankMs).toFixed(2), unit: 'ratio' },
  { measurement: 'worker round trip / search k=1 (mean time)', value: (workerMs / searchMs).toFixed(2), unit: 'ratio' },
);
index.close();

console.log(`search-qa benchmark, tier ${tier}, ${dir}, ${queries.length} question queries, 1 thread\n`);
console.log(markdownTable(rows));
