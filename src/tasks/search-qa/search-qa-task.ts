/**
 * The search-QA task as a TrainingTask, in one call: the data directory (built on first use if
 * asked), the FTS5 search index, the `wiki_search` tool, the paper's XML tool environment and the
 * task's rubric, wired so that the gold-document search reward re-runs searches with exactly the
 * tool the environment uses. Unless the rubric already scores normalised exact match, that metric
 * is added with weight 0: reported, never rewarded. The system prompt is the paper's by default;
 * `short` states the same instructions compactly, for small models whose context is precious.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { EnvFactory } from '../../env/env.js';
import { ToolEnv } from '../../env/tool-env.js';
import { DataError } from '../../errors.js';
import { Rubric } from '../../rewards/rubric.js';
import type { TrainingTask } from '../../train/task.js';
import { buildSearchQaData, DATA_FORMAT } from './build-data.js';
import { DATA_FILES, defaultDataDir } from './data-files.js';
import { loadSearchQaDataset } from './dataset.js';
import { withTrainingWording } from './questions/training-phrasings.js';
import { openSearchIndex, type SearchIndex } from './search-index.js';
import { byHash } from './splits.js';
import { SearchWorker } from './search-worker.js';
import { createSearchQaRubric, type SearchQaRubricOptions } from './task-rubric.js';
import type { QuestionRow, Split, Tier } from './types.js';
import { ChatHermesFormat, HERMES_XML_FIELDS, hermesSearchQaEnv } from './hermes-env.js';
import { createWikiSearchTool, type WikiSearchOptions, type WikiSearchTool } from './wiki-search-tool.js';

/** The compact system prompt: the paper's instructions and tool format in two sentences. */
export const SHORT_SYSTEM_PROMPT =
  'Answer the question. First reason in <reasoning>, then call wiki_search once as ' +
  '<tool>{"name": "wiki_search", "args": {"query": "..."}}</tool>; ' +
  'read the <result>, reason again, and give the answer in <answer>.';

/** Options of `openSearchQaTask`. */
export interface SearchQaTaskOptions {
  /** Tier of the generated data (default M); ignored when `dir` holds imported data. */
  tier?: Tier;
  /** Data directory (default `defaultDataDir(tier)`). */
  dir?: string;
  /** Build the generated data when the directory has no questions yet (default true). */
  buildIfMissing?: boolean;
  /** The `wiki_search` tool: documents per search, characters shown. */
  tool?: WikiSearchOptions;
  rubric?: Omit<SearchQaRubricOptions, 'tool'>;
  /** Assistant messages with a tool call before the episode ends (default the env's, paper: 2). */
  maxToolCalls?: number;
  /** `paper` (default) or `short` (XML format only; the Hermes format has its own prompt). */
  systemPrompt?: 'paper' | 'short';
  /** `template` (default) or `varied`: training questions in several wordings per kind (training-phrasings.ts). */
  trainingPhrasings?: 'template' | 'varied';
  /**
   * Training questions kept per family, chosen by a hash of their id (default 0: all). The
   * generated training split is three quarters WordNet definitions; capped, no one kind's wording
   * sets the policy's habits.
   */
  trainRowsPerFamily?: number;
  /** `xml` (default: the paper's format) or `hermes` (`<tool_call>`, as the gateway renders tools: hermes-env.ts). */
  format?: 'xml' | 'hermes';
  /**
   * The tool's searches in a worker thread (`search-worker.ts`), so they do not stop decoding. Same
   * hits either way. Default: on when the environment variable TURNWISE_SEARCH_WORKER is 1, else off,
   * because on 2 cores the worker competes with the decoder's thread pool and the round got slower
   * (bench:rl, README); with a core to spare it takes the ~4 ms queries off the decoding path.
   */
  searchWorker?: boolean;
  onProgress?: (message: string) => void;
}

/** The search-QA task plus the handles behind it. */
export interface SearchQaTask extends TrainingTask<QuestionRow> {
  createEnv: EnvFactory<QuestionRow>;
  dir: string;
  index: SearchIndex;
  tool: WikiSearchTool;
  /** The questions of one split (or all). */
  dataset(split?: Split | 'all'): QuestionRow[];
  close(): void;
}

/**
 * Why generated data in `dir` must be rebuilt (built by an older format, e.g. without the held-out
 * sets), or undefined. Imported data has no manifest and is never rebuilt.
 */
function outdatedBuild(dir: string): string | undefined {
  const manifestPath = path.join(dir, DATA_FILES.manifest);
  if (!existsSync(manifestPath)) return undefined;
  let format: unknown;
  try {
    format = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { format?: unknown }).format;
  } catch {
    return `has an unreadable ${DATA_FILES.manifest}`;
  }
  return format === DATA_FORMAT ? undefined : `holds data of format ${JSON.stringify(format)}, expected ${DATA_FORMAT}`;
}

/** Opens (and if needed builds) the data, index, tool, environment and rubric of the search-QA task. */
export async function openSearchQaTask(options: SearchQaTaskOptions = {}): Promise<SearchQaTask> {
  const tier = options.tier ?? 'M';
  const dir = path.resolve(options.dir !== undefined && options.dir !== '' ? options.dir : defaultDataDir(tier));
  const outdated = outdatedBuild(dir);
  if (!existsSync(path.join(dir, DATA_FILES.questions)) || outdated !== undefined) {
    const why = outdated ?? `has no ${DATA_FILES.questions}`;
    if (options.buildIfMissing === false)
      throw new DataError(`search-qa: ${dir} ${why}; run \`turnwise data build --tier ${tier} --overwrite\``);
    options.onProgress?.(`building search-QA data tier ${tier} in ${dir} (it ${why})`);
    buildSearchQaData({ tier, dir, onProgress: options.onProgress });
  }
  const index = await openSearchIndex(dir, { onProgress: options.onProgress });
  const useWorker = options.searchWorker ?? process.env.TURNWISE_SEARCH_WORKER === '1';
  let worker: SearchWorker | undefined;
  try {
    worker = useWorker ? await SearchWorker.open(index.path) : undefined;
  } catch (error) {
    index.close();
    throw error;
  }
  const tool = createWikiSearchTool(index, { ...options.tool, ...(worker ? { background: worker } : {}) });
  const hermes = options.format === 'hermes';
  const formatOptions = hermes ? { format: new ChatHermesFormat(), xmlFields: HERMES_XML_FIELDS } : {};
  const functions = [...createSearchQaRubric({ ...formatOptions, ...options.rubric, tool }).functions];
  if (!functions.some((fn) => fn.name === 'exact_match_normalized')) {
    const normalized = createSearchQaRubric({ ...formatOptions, tool, exactMatch: 'normalized' }).functions.find(
      (fn) => fn.name === 'exact_match_normalized',
    )!;
    functions.push({ ...normalized, weight: 0, score: normalized.score.bind(normalized) });
  }
  const splits = new Map<string, QuestionRow[]>();
  const varied = options.trainingPhrasings === 'varied';
  for (const row of loadSearchQaDataset(dir, 'all')) {
    const list = splits.get(row.split) ?? [];
    list.push(varied && row.split === 'train' ? withTrainingWording(row) : row);
    splits.set(row.split, list);
  }
  const cap = options.trainRowsPerFamily ?? 0;
  if (cap > 0 && splits.has('train')) splits.set('train', capPerFamily(splits.get('train')!, cap));
  return {
    name: `search-qa-${tier}`,
    dir,
    index,
    tool,
    rubric: new Rubric<QuestionRow>(functions),
    dataset: (split) => loadSearchQaDataset(dir, split),
    rows(split) {
      const rows = splits.get(split);
      if (!rows)
        throw new DataError(
          `search-QA data in ${dir} has no split ${JSON.stringify(split)}; it has ${[...splits.keys()].join(', ')}`,
        );
      return rows;
    },
    rowId: (row) => row.id,
    answers: (row) => row.answers,
    family: (row) => row.family,
    progressFields: [
      { label: 'tool', key: 'reward/tool_execution' },
      { label: 'EM', key: 'reward/exact_match' },
    ],
    createEnv: hermes
      ? hermesSearchQaEnv<QuestionRow>(tool, options.maxToolCalls)
      : ToolEnv.factory<QuestionRow>({
          tools: [tool],
          ...(options.maxToolCalls !== undefined ? { maxToolCalls: options.maxToolCalls } : {}),
          ...(options.systemPrompt === 'short' ? { systemPrompt: SHORT_SYSTEM_PROMPT } : {}),
        }),
    close: () => {
      void worker?.close();
      index.close();
    },
  };
}

/** At most `cap` rows of each family, the first of each in hash order of their id, in their original order. */
function capPerFamily(rows: readonly QuestionRow[], cap: number): QuestionRow[] {
  const taken = new Map<string, number>();
  const kept = new Set<QuestionRow>();
  for (const row of byHash(rows, (r) => `cap:${r.id}`)) {
    const count = taken.get(row.family) ?? 0;
    if (count >= cap) continue;
    taken.set(row.family, count + 1);
    kept.add(row);
  }
  return rows.filter((row) => kept.has(row));
}
