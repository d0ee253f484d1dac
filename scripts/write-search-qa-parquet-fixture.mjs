// Writes src/tasks/search-qa/__fixtures__/triviaqa-rc-sample.parquet: the records of
// triviaqa-rc-sample.json in the schema of the Hugging Face `trivia_qa` `rc` parquet export
// (columns question, question_id, question_source, entity_pages, search_results, answer; lists in
// the 3-level LIST layout pyarrow writes). hyparquet-writer is not a project dependency, so run it
// from a folder where it is installed:
//   mkdir -p /tmp/hpw && cd /tmp/hpw && npm i hyparquet-writer@0.17.0 &&
//     node <repo>/scripts/write-search-qa-parquet-fixture.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const fixtures = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'src',
  'tasks',
  'search-qa',
  '__fixtures__',
);
const requireFromCwd = createRequire(path.join(process.cwd(), 'package.json'));
const { parquetWriteBuffer } = await import(pathToFileURL(requireFromCwd.resolve('hyparquet-writer')).href);

const string = (name) => ({ name, repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY', converted_type: 'UTF8' });
const list = (name, element) => [
  { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { ...element, name: 'element' },
];
const stringList = (name) => list(name, string('element'));
const schema = [
  { name: 'schema', num_children: 6 },
  string('question'),
  string('question_id'),
  string('question_source'),
  { name: 'entity_pages', repetition_type: 'OPTIONAL', num_children: 4 },
  ...stringList('doc_source'),
  ...stringList('filename'),
  ...stringList('title'),
  ...stringList('wiki_context'),
  { name: 'search_results', repetition_type: 'OPTIONAL', num_children: 6 },
  ...stringList('description'),
  ...stringList('filename'),
  ...list('rank', { repetition_type: 'OPTIONAL', type: 'INT32' }),
  ...stringList('title'),
  ...stringList('url'),
  ...stringList('search_context'),
  { name: 'answer', repetition_type: 'OPTIONAL', num_children: 7 },
  ...stringList('aliases'),
  ...stringList('normalized_aliases'),
  string('matched_wiki_entity_name'),
  string('normalized_matched_wiki_entity_name'),
  string('normalized_value'),
  string('type'),
  string('value'),
];

const published = JSON.parse(readFileSync(path.join(fixtures, 'triviaqa-rc-sample.json'), 'utf8'));
// The HF export has answers for train and validation only; keep the answered records.
const records = published.Data.filter((record) => record.Answer);
const column = (name, map) => ({ name, data: records.map(map) });
const buffer = parquetWriteBuffer({
  schema,
  columnData: [
    column('question', (r) => r.Question),
    column('question_id', (r) => r.QuestionId),
    column('question_source', (r) => r.QuestionSource),
    column('entity_pages', (r) => ({
      doc_source: r.EntityPages.map((page) => page.DocSource),
      filename: r.EntityPages.map((page) => page.Filename),
      title: r.EntityPages.map((page) => page.Title),
      wiki_context: r.EntityPages.map((page) => `${page.Title} (short article text for the fixture).`),
    })),
    column('search_results', (r) => ({
      description: (r.SearchResults ?? []).map((result) => result.Description),
      filename: (r.SearchResults ?? []).map((result) => result.Filename),
      rank: (r.SearchResults ?? []).map((result) => result.Rank),
      title: (r.SearchResults ?? []).map((result) => result.Title),
      url: (r.SearchResults ?? []).map((result) => result.Url),
      search_context: (r.SearchResults ?? []).map((result) => result.Description),
    })),
    column('answer', (r) => ({
      aliases: r.Answer.Aliases,
      normalized_aliases: r.Answer.NormalizedAliases,
      matched_wiki_entity_name: r.Answer.MatchedWikiEntityName ?? '',
      normalized_matched_wiki_entity_name: r.Answer.NormalizedMatchedWikiEntityName ?? '',
      normalized_value: r.Answer.NormalizedValue,
      type: r.Answer.Type,
      value: r.Answer.Value,
    })),
  ],
  createdBy: 'turnwise write-search-qa-parquet-fixture (hyparquet-writer 0.17.0)',
});
writeFileSync(path.join(fixtures, 'triviaqa-rc-sample.parquet'), Buffer.from(buffer));
console.log(`wrote triviaqa-rc-sample.parquet (${buffer.byteLength} bytes, ${records.length} rows)`);
