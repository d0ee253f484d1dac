/**
 * The `wiki_search` tool: a BM25 search over the local index whose output is the top hits' best
 * passages cut to a character or token budget. The paper returns the whole top-1 article; here
 * `unit: 'document', k: 1` with no budget reproduces that, while the default (passages, k 3,
 * 1200 characters) keeps the answer-bearing part within a small model's budget. The index does not
 * change while a tool is open, so the last SEARCH_MEMO_SIZE queries' results are kept (frozen): the
 * rollouts of one group often search the same words, and the task's rubric re-runs each search.
 */
import { z } from 'zod';
import { defineTool, type Tool } from '../../env/tool.js';
import { errorMessage, ToolError } from '../../errors.js';
import { type FormattedResults, formatWithinBudget, type OutputBudget } from './result-budget.js';
import type { SearchIndex } from './search-index.js';

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
  /** Result when the query has no searchable words or matches nothing (default "No relevant content found."). */
  emptyMessage?: string;
  timeoutMs?: number;
}

/** The paper's message for an empty result was "No relevant Wikipedia content found.". */
export const DEFAULT_EMPTY_MESSAGE = 'No relevant content found.';

/** The paper's tool description. */
export const WIKI_SEARCH_DESCRIPTION = 'Searches Wikipedia and returns the top matching article content.';

/** The resolved settings of a search tool (what the strict reward re-runs the search with). */
export interface WikiSearchSettings extends OutputBudget {
  k: number;
  unit: 'passage' | 'document';
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
    emptyMessage: options.emptyMessage ?? DEFAULT_EMPTY_MESSAGE,
    maxCharacters: options.maxCharacters ?? (options.maxTokens === undefined ? DEFAULT_MAX_CHARACTERS : undefined),
    maxTokens: options.maxTokens,
    countTokens: options.countTokens,
  };
  // Least recently used first (a Map keeps insertion order; a hit is moved to the end).
  const memo = new Map<string, FormattedResults>();
  const run = (query: string): FormattedResults => {
    const kept = memo.get(query);
    if (kept !== undefined) {
      memo.delete(query);
      memo.set(query, kept);
      return kept;
    }
    const results = freezeResults(runWikiSearch(index, query, settings));
    if (memo.size >= SEARCH_MEMO_SIZE) memo.delete(memo.keys().next().value!);
    memo.set(query, results);
    return results;
  };
  const tool = defineTool({
    name: options.name ?? 'wiki_search',
    description: options.description ?? WIKI_SEARCH_DESCRIPTION,
    parameters: z.object({
      query: z.string().describe('What to search for: a few keywords or a short question.'),
    }),
    timeoutMs: options.timeoutMs,
    execute({ query }) {
      try {
        return run(query).text;
      } catch (error) {
        throw new ToolError(`during search: ${errorMessage(error)}`);
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
  const hits = index.search(query, { k: settings.k, unit: settings.unit });
  if (hits.length === 0) return { text: settings.emptyMessage, shown: [] };
  const budget = settings.maxCharacters === undefined && settings.maxTokens === undefined ? undefined : settings;
  if (!budget) {
    return {
      text: hits.map((hit) => `${hit.title}\n${hit.text}`).join('\n\n'),
      shown: hits.map((hit) => ({ hit, shown: `${hit.title}\n${hit.text}`, truncated: false })),
    };
  }
  return formatWithinBudget(hits, budget);
}
