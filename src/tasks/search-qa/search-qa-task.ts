/**
 * One call that sets up the search-QA task for training or evaluation: the data directory (built
 * on first use if asked), the search index, the `wiki_search` tool and the rubric, wired so that
 * the rubric's gold-document reward re-runs searches with exactly the tool the environment uses.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DataError } from '../../errors.js';
import type { Rubric } from '../../rewards/rubric.js';
import { buildSearchQaData } from './build-data.js';
import { DATA_FILES, defaultDataDir } from './data-files.js';
import { loadSearchQaDataset } from './dataset.js';
import { openSearchIndex, type SearchIndex } from './search-index.js';
import { createSearchQaRubric, type SearchQaRubricOptions } from './task-rubric.js';
import type { QuestionRow, Split, Tier } from './types.js';
import { createWikiSearchTool, type WikiSearchOptions, type WikiSearchTool } from './wiki-search-tool.js';

/** Options of `openSearchQaTask`. */
export interface SearchQaTaskOptions {
  /** Tier of the generated data (default M); ignored when `dir` holds imported data. */
  tier?: Tier;
  /** Data directory (default `defaultDataDir(tier)`). */
  dir?: string;
  /** Build the generated data when the directory has no questions yet (default true). */
  buildIfMissing?: boolean;
  tool?: WikiSearchOptions;
  rubric?: Omit<SearchQaRubricOptions, 'tool'>;
  onProgress?: (message: string) => void;
}

/** The pieces of the search-QA task. */
export interface OpenedSearchQaTask {
  dir: string;
  index: SearchIndex;
  tool: WikiSearchTool;
  rubric: Rubric<QuestionRow>;
  /** The questions of one split (or all). */
  dataset(split?: Split | 'all'): QuestionRow[];
  close(): void;
}

/** Opens (and if needed builds) the data, index, tool and rubric of the search-QA task. */
export async function openSearchQaTask(options: SearchQaTaskOptions = {}): Promise<OpenedSearchQaTask> {
  const tier = options.tier ?? 'M';
  const dir = path.resolve(options.dir ?? defaultDataDir(tier));
  if (!existsSync(path.join(dir, DATA_FILES.questions))) {
    if (options.buildIfMissing === false) throw new DataError(`search-qa: ${dir} has no ${DATA_FILES.questions}; run \`turnwise data build --tier ${tier}\``);
    buildSearchQaData({ tier, dir, onProgress: options.onProgress });
  }
  const index = await openSearchIndex(dir, { onProgress: options.onProgress });
  const tool = createWikiSearchTool(index, options.tool);
  const rubric = createSearchQaRubric({ ...options.rubric, tool });
  return { dir, index, tool, rubric, dataset: (split) => loadSearchQaDataset(dir, split), close: () => index.close() };
}
