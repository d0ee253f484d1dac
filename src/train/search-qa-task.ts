/**
 * The search-QA task as a TrainingTask: question rows of a built data directory, the paper's XML
 * tool environment with the `wiki_search` tool over the FTS5 index, and the paper's rubric (plus the
 * normalised exact match with weight 0: reported as a metric, never rewarded). The system prompt is
 * the paper's by default; `short` states the same instructions compactly, for small models trained
 * from scratch whose context is precious.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ToolEnv } from '../env/tool-env.js';
import { DataError } from '../errors.js';
import { Rubric } from '../rewards/rubric.js';
import { loadSearchQaDataset } from '../tasks/search-qa/dataset.js';
import { buildSearchQaData } from '../tasks/search-qa/build-data.js';
import { DATA_FILES, defaultDataDir } from '../tasks/search-qa/data-files.js';
import { openSearchIndex, type SearchIndex } from '../tasks/search-qa/search-index.js';
import { createSearchQaRubric } from '../tasks/search-qa/task-rubric.js';
import type { QuestionRow, Tier } from '../tasks/search-qa/types.js';
import { createWikiSearchTool, type WikiSearchTool } from '../tasks/search-qa/wiki-search-tool.js';
import type { TrainingTask } from './task.js';

/** The compact system prompt: the paper's instructions and tool format in two sentences. */
export const SHORT_SYSTEM_PROMPT =
  'Answer the question. First reason in <reasoning>, then call wiki_search once as ' +
  '<tool>{"name": "wiki_search", "args": {"query": "..."}}</tool>; read the <result>, reason again, and give the answer in <answer>.';

/** Options of the search-QA task. */
export interface SearchQaTaskOptions {
  tier: Tier;
  /** Data directory (default: `defaultDataDir(tier)`); built when missing and `build` is true. */
  dir?: string;
  /** Build the data when the directory has none (default true). */
  build?: boolean;
  /** Characters of search output shown to the model. */
  resultCharBudget: number;
  /** Documents per search (paper: 1). */
  searchTopK: number;
  /** Assistant messages with a tool call before the episode ends (paper: 2). */
  maxToolCalls: number;
  /** `paper` (default) or `short`. */
  systemPrompt?: 'paper' | 'short';
  onProgress?: (message: string) => void;
}

/** The task plus the handles behind it. */
export interface SearchQaTask extends TrainingTask<QuestionRow> {
  tool: WikiSearchTool;
  index: SearchIndex;
  dir: string;
}

/** Opens (building if needed) the search-QA data of a tier and returns it as a task. */
export async function createSearchQaTask(options: SearchQaTaskOptions): Promise<SearchQaTask> {
  const dir = options.dir && options.dir !== '' ? options.dir : defaultDataDir(options.tier);
  if (!existsSync(join(dir, DATA_FILES.questions))) {
    if (options.build === false) throw new DataError(`no search-QA data in ${dir}; run \`turnwise data build --tier ${options.tier}\``);
    options.onProgress?.(`building search-QA data tier ${options.tier} in ${dir}`);
    buildSearchQaData({ tier: options.tier, dir, onProgress: options.onProgress });
  }
  const index = await openSearchIndex(dir, { onProgress: options.onProgress });
  const tool = createWikiSearchTool(index, { k: options.searchTopK, maxCharacters: options.resultCharBudget });
  const splits = new Map<string, QuestionRow[]>();
  for (const row of loadSearchQaDataset(dir, 'all')) {
    const list = splits.get(row.split) ?? [];
    list.push(row);
    splits.set(row.split, list);
  }
  const paper = createSearchQaRubric({ tool });
  const normalized = createSearchQaRubric({ tool, exactMatch: 'normalized' }).functions.find((fn) => fn.name === 'exact_match_normalized')!;
  const rubric = new Rubric<QuestionRow>([...paper.functions, { ...normalized, weight: 0, score: normalized.score.bind(normalized) }]);
  return {
    name: `search-qa-${options.tier}`,
    tool,
    index,
    dir,
    rows(split) {
      const rows = splits.get(split);
      if (!rows) throw new DataError(`search-QA data in ${dir} has no split ${JSON.stringify(split)}; it has ${[...splits.keys()].join(', ')}`);
      return rows;
    },
    rowId: (row) => row.id,
    answers: (row) => row.answers,
    family: (row) => row.family,
    createEnv: ToolEnv.factory<QuestionRow>({
      tools: [tool],
      maxToolCalls: options.maxToolCalls,
      ...(options.systemPrompt === 'short' ? { systemPrompt: SHORT_SYSTEM_PROMPT } : {}),
    }),
    rubric,
    close: () => index.close(),
  };
}
