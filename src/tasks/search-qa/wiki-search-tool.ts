/**
 * The `wiki_search` tool: a BM25 search over the local index whose output is the top hits' best
 * passages cut to a character or token budget. The paper returns the whole top-1 article; here
 * `unit: 'document', k: 1` with no budget reproduces that, while the default (passages, k 3,
 * 1200 characters) keeps the answer-bearing part within a small model's budget. The index does not
 * change while a tool is open, so the last SEARCH_MEMO_SIZE queries' results are kept (frozen): the
 * rollouts of one group often search the same words, and the task's rubric re-runs each search.
 * With `background` (a worker thread over the same index file), a call searches there and returns
 * a promise, so the main thread keeps working (decoding other rollouts) meanwhile.
 */
import { z } from 'zod';
import { defineTool, type Tool } from '../../env/tool.js';
import { errorMessage, ToolError } from '../../errors.js';
import { type FormattedResults, formatWithinBudget, type OutputBudget } from './result-budget.js';
import { focusOnQuery, type ResultWindow } from './query-focus.js';
import type { SearchHit, SearchIndex } from './search-index.js';
import type { BackgroundSearch } from './search-worker.js';

/** Options of the `wiki_search` tool. */
export interface WikiSearchOptions extends OutputBudget {
  /** Tool name (default `wiki_search`). */
  name?: string;
  /** Description in the system prompt (default: the paper's text). */
  description?: string;
  /** Documents retrieved per query (default 3). */
  k?: number;
  /** `passage` (default) or `document` (paper: whole article). */
  unit?: 'passage' | 'document';
  /** Where a shown hit starts: its first line (default) or the line that best matches the query (query-focus.ts). */
  window?: ResultWindow;
  /** Result when the query has no searchable words or matches nothing (default "No relevant content found."). */
  emptyMessage?: string;
  timeoutMs?: number;
  /**
   * Where the tool's calls search (a `SearchWorker` over the same index file): off the main thread,
   * same hits. `run` (the rubric's re-runs, the demonstrations) still searches `index` directly.
   */
  background?: BackgroundSearch;
}

/** The paper's message for an empty result was "No relevant Wikipedia content found.". */
export const DEFAULT_EMPTY_MESSAGE = 'No relevant content found.';

/** The paper's tool description. */
export const WIKI_SEARCH_DESCRIPTION = 'Searches Wikipedia and returns the top matching article content.';

/** The resolved settings of a search tool (what the strict reward re-runs the search with). */
export interface WikiSearchSettings extends OutputBudget {
  k: number;
  unit: 'passage' | 'document';
  window: ResultWindow;
  emptyMessage: string;
}

/** The wiki_search tool plus direct access to the structured results behind its text. */
export type WikiSearchTool = Tool<{ query: string }> & {
  settings: WikiSearchSettings;
  /** Runs a query exactly as the tool does and returns the shown hits with the text. */
  run(query: string): FormattedResults;
};

/** Queries whose results a tool keeps. */
export const SEARCH_MEMO_SIZE = 4096;

/** The default budget: 1200 characters, about 300 tokens of English. */
export const DEFAULT_MAX_CHARACTERS = 1200;

/** Creates the `wiki_search` tool over an open index. */
export function createWikiSearchTool(index: SearchIndex, options: WikiSearchOptions = {}): WikiSearchTool {
  const settings: WikiSearchSettings = {
    k: options.k ?? 3,
    unit: options.unit ?? 'passage',
    window: options.window ?? 'start',
    emptyMessage: options.emptyMessage ?? DEFAULT_EMPTY_MESSAGE,
    maxCharacters: options.maxCharacters ?? (options.maxTokens === undefined ? DEFAULT_MAX_CHARACTERS : undefined),
    maxTokens: options.maxTokens,
    countTokens: options.countTokens,
  };
  // Least recently used first (a Map keeps insertion order; a hit is moved to the end).
  const memo = new Map<string, FormattedResults>();
  const recall = (query: string): FormattedResults | undefined => {
    const kept = memo.get(query);
    if (kept !== undefined) {
      memo.delete(query);
      memo.set(query, kept);
    }
    return kept;
  };
  const remember = (query: string, results: FormattedResults): FormattedResults => {
    const kept = recall(query); // a search of the same query may have finished meanwhile
    if (kept !== undefined) return kept;
    const frozen = freezeResults(results);
    if (memo.size >= SEARCH_MEMO_SIZE) memo.delete(memo.keys().next().value!);
    memo.set(query, frozen);
    return frozen;
  };
  const run = (query: string): FormattedResults =>
    recall(query) ?? remember(query, runWikiSearch(index, query, settings));
  // Background searches in flight, by query: concurrent calls of one query share one search.
  const searching = new Map<string, Promise<FormattedResults>>();
  const runInBackground = (background: BackgroundSearch, query: string): Promise<FormattedResults> => {
    let flight = searching.get(query);
    if (flight === undefined) {
      flight = background
        .search(query, { k: settings.k, unit: settings.unit })
        .then((hits) => remember(query, formatHits(hits, settings, query)))
        .finally(() => searching.delete(query));
      searching.set(query, flight);
    }
    return flight;
  };
  const fail = (error: unknown): never => {
    throw new ToolError(`during search: ${errorMessage(error)}`);
  };
  const background = options.background;
  const tool = defineTool({
    name: options.name ?? 'wiki_search',
    description: options.description ?? WIKI_SEARCH_DESCRIPTION,
    parameters: z.object({
      query: z.string().describe('What to search for: a few keywords or a short question.'),
    }),
    timeoutMs: options.timeoutMs,
    execute({ query }): string | Promise<string> {
      const kept = recall(query);
      if (kept !== undefined) return kept.text;
      if (background !== undefined) return runInBackground(background, query).then((results) => results.text, fail);
      try {
        return run(query).text;
      } catch (error) {
        return fail(error);
      }
    },
  });
  return Object.assign(tool, { settings, run });
}

/** Results shared between callers cannot be changed by one of them. */
function freezeResults(results: FormattedResults): FormattedResults {
  for (const shown of results.shown) {
    Object.freeze(shown.hit);
    Object.freeze(shown);
  }
  Object.freeze(results.shown);
  return Object.freeze(results);
}

/** One search formatted as the tool shows it; the empty message when nothing matches. */
export function runWikiSearch(index: SearchIndex, query: string, settings: WikiSearchSettings): FormattedResults {
  return formatHits(index.search(query, { k: settings.k, unit: settings.unit }), settings, query);
}

/** A search's hits formatted as the tool shows them (for `query`); the empty message when there are none. */
export function formatHits(
  searched: readonly SearchHit[],
  settings: WikiSearchSettings,
  query: string,
): FormattedResults {
  if (searched.length === 0) return { text: settings.emptyMessage, shown: [] };
  const hits = settings.window === 'query' ? searched.map((hit) => focusWhenCut(hit, query, settings)) : searched;
  const budget = settings.maxCharacters === undefined && settings.maxTokens === undefined ? undefined : settings;
  if (!budget) {
    return {
      text: hits.map((hit) => `${hit.title}\n${hit.text}`).join('\n\n'),
      shown: hits.map((hit) => ({ hit, shown: `${hit.title}\n${hit.text}`, truncated: false })),
    };
  }
  return formatWithinBudget(hits, budget);
}

/** A hit that the budget would cut, shown from the line that best matches the query. */
function focusWhenCut(hit: SearchHit, query: string, budget: OutputBudget): SearchHit {
  const whole = `${hit.title}\n${hit.text}`;
  const cut =
    (budget.maxCharacters !== undefined && whole.length > budget.maxCharacters) ||
    (budget.maxTokens !== undefined &&
      budget.countTokens !== undefined &&
      budget.countTokens(whole) > budget.maxTokens);
  return cut ? focusOnQuery(hit, query) : hit;
}
