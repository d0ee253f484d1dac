/**
 * A search tool backed by an HTTP retrieval server, for users who run a dense retriever. It POSTs
 * the query as JSON and shows the ranked passages it gets back, cut to the same budget as the local
 * tool. Two wire formats: `simple` (`{query, k}` -> `{results: [{title, text, id?, score?}]}`) and
 * `search-r1` (Search-R1's retrieval server: `{queries: [q], topk}` -> `{result: [[{document:
 * {contents}, score}]]}`). Timeouts, HTTP errors, unreachable servers and malformed JSON all become
 * `Error: ...` results; the tool never throws.
 */
import { z } from 'zod';
import { defineTool, type Tool } from '../../env/tool.js';
import { errorMessage } from '../../errors.js';
import { formatWithinBudget, type OutputBudget } from './result-budget.js';
import type { SearchHit } from './search-index.js';
import { DEFAULT_EMPTY_MESSAGE, DEFAULT_MAX_CHARACTERS, WIKI_SEARCH_DESCRIPTION } from './wiki-search-tool.js';

/** Options of the remote retriever tool. */
export interface RemoteRetrieverOptions extends OutputBudget {
  /** Endpoint receiving the POST (e.g. `http://127.0.0.1:8000/retrieve`). */
  url: string;
  /** Wire format (default `simple`). */
  protocol?: 'simple' | 'search-r1';
  name?: string;
  description?: string;
  /** Passages requested per query (default 3). */
  k?: number;
  /** Milliseconds before the request is abandoned (default 10,000). */
  timeoutMs?: number;
  /** Extra request headers (e.g. authorisation). */
  headers?: Record<string, string>;
  emptyMessage?: string;
}

const SIMPLE_RESPONSE = z.object({
  results: z.array(
    z.object({
      title: z.string(),
      text: z.string(),
      id: z.union([z.string(), z.number()]).optional(),
      score: z.number().optional(),
    }),
  ),
});

const SEARCH_R1_RESPONSE = z.object({
  result: z.array(
    z.array(
      z.object({
        document: z.object({ contents: z.string(), id: z.union([z.string(), z.number()]).optional() }),
        score: z.number().optional(),
      }),
    ),
  ),
});

/** Creates a search tool that asks an HTTP retrieval server. */
export function createRemoteRetrieverTool(options: RemoteRetrieverOptions): Tool<{ query: string }> {
  const protocol = options.protocol ?? 'simple';
  const k = options.k ?? 3;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const budget: OutputBudget = {
    maxCharacters: options.maxCharacters ?? (options.maxTokens === undefined ? DEFAULT_MAX_CHARACTERS : undefined),
    maxTokens: options.maxTokens,
    countTokens: options.countTokens,
  };
  return defineTool({
    name: options.name ?? 'wiki_search',
    description: options.description ?? WIKI_SEARCH_DESCRIPTION,
    parameters: z.object({ query: z.string().describe('What to search for: a few keywords or a short question.') }),
    // The env's own timeout is a backstop; the request timeout below produces the clearer message.
    timeoutMs: timeoutMs + 1000,
    async execute({ query }, context) {
      if (query.trim() === '') return options.emptyMessage ?? DEFAULT_EMPTY_MESSAGE;
      const body = protocol === 'simple' ? { query, k } : { queries: [query], topk: k, return_scores: true };
      let response: Response;
      try {
        response = await fetch(options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...options.headers },
          body: JSON.stringify(body),
          signal: AbortSignal.any([context.signal, AbortSignal.timeout(timeoutMs)]),
        });
      } catch (error) {
        if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
          return `Error: retriever at ${options.url} did not answer within ${timeoutMs} ms`;
        }
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        return (
          `Error: retriever at ${options.url} unreachable ` +
          `(${cause?.code ?? cause?.message ?? errorMessage(error)})`
        );
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        return `Error: retriever at ${options.url} broke off its response (${errorMessage(error)})`;
      }
      if (!response.ok) return `Error: retriever returned HTTP ${response.status}: ${text.slice(0, 200).trim()}`;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return `Error: retriever returned invalid JSON: ${JSON.stringify(text.slice(0, 100))}`;
      }
      const hits = protocol === 'simple' ? simpleHits(json) : searchR1Hits(json);
      if (typeof hits === 'string') return hits;
      if (hits.length === 0) return options.emptyMessage ?? DEFAULT_EMPTY_MESSAGE;
      return formatWithinBudget(hits.slice(0, k), budget).text;
    },
  });
}

function simpleHits(json: unknown): SearchHit[] | string {
  const parsed = SIMPLE_RESPONSE.safeParse(json);
  if (!parsed.success)
    return 'Error: retriever response has the wrong shape; expected {"results": [{"title": string, "text": string}]}';
  return parsed.data.results.map((result, rank) => ({
    docId: String(result.id ?? result.title),
    title: result.title,
    text: result.text,
    score: result.score ?? -rank,
    passage: 0,
    source: 'remote',
  }));
}

// Search-R1 stores a passage as `"Title"\ntext` in `contents`.
function searchR1Hits(json: unknown): SearchHit[] | string {
  const parsed = SEARCH_R1_RESPONSE.safeParse(json);
  if (!parsed.success)
    return 'Error: retriever response has the wrong shape; expected {"result": [[{"document": {"contents": string}}]]}';
  return (parsed.data.result[0] ?? []).map((item, rank) => {
    const [firstLine, ...rest] = item.document.contents.split('\n');
    const title = firstLine!.replace(/^"(.*)"$/, '$1');
    return {
      docId: String(item.document.id ?? title),
      title,
      text: rest.join('\n'),
      score: item.score ?? -rank,
      passage: 0,
      source: 'remote',
    };
  });
}
