/**
 * Cuts ranked search hits to an output budget in characters or tokens. Hits are added whole in
 * rank order; the first one that does not fit is cut at a word boundary (if enough room is left)
 * and the rest are dropped. Because hits are passages, the answer-bearing lines come first.
 */
import type { SearchHit } from './search-index.js';

/** An output budget: characters, tokens (with a counter), or both (the tighter one wins). */
export interface OutputBudget {
  maxCharacters?: number;
  maxTokens?: number;
  /** Counts tokens of a text (e.g. the policy tokenizer's `encode(text).length`); required with maxTokens. */
  countTokens?: (text: string) => number;
}

/** A hit as shown to the model, possibly cut. */
export interface ShownHit {
  hit: SearchHit;
  /** The text shown (title line and passage), after cutting. */
  shown: string;
  truncated: boolean;
}

/** The formatted tool output and which hits it shows. */
export interface FormattedResults {
  text: string;
  shown: ShownHit[];
}

const SEPARATOR = '\n\n';
const ELLIPSIS = ' ...';
/** A cut hit must keep at least this share of the budget, else it is dropped. */
const MIN_PARTIAL_SHARE = 0.15;

/** Formats one hit: its title on the first line, then its text. */
export function formatHit(hit: SearchHit): string {
  return `${hit.title}\n${hit.text}`;
}

/** Joins hits into the tool output within the budget. */
export function formatWithinBudget(hits: readonly SearchHit[], budget: OutputBudget): FormattedResults {
  if (budget.maxTokens !== undefined && budget.countTokens === undefined) {
    throw new TypeError('formatWithinBudget: maxTokens needs a countTokens function');
  }
  const fits = (text: string) =>
    (budget.maxCharacters === undefined || text.length <= budget.maxCharacters) &&
    (budget.maxTokens === undefined || budget.countTokens!(text) <= budget.maxTokens);
  const shown: ShownHit[] = [];
  let text = '';
  for (const hit of hits) {
    const block = formatHit(hit);
    const candidate = text === '' ? block : text + SEPARATOR + block;
    if (fits(candidate)) {
      text = candidate;
      shown.push({ hit, shown: block, truncated: false });
      continue;
    }
    const prefix = text === '' ? '' : text + SEPARATOR;
    const cut = longestFittingCut(block, (part) => fits(prefix + part + ELLIPSIS));
    const minimum = Math.floor((budget.maxCharacters ?? block.length) * MIN_PARTIAL_SHARE);
    if (cut.length > 0 && (text === '' || cut.length >= minimum)) {
      text = prefix + cut + ELLIPSIS;
      shown.push({ hit, shown: cut, truncated: true });
    }
    break;
  }
  return { text, shown };
}

// Binary search on the cut position (fits is monotone in length), then back off to a word boundary.
function longestFittingCut(block: string, fits: (part: string) => boolean): string {
  let low = 0;
  let high = block.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (fits(block.slice(0, middle))) low = middle;
    else high = middle - 1;
  }
  const part = block.slice(0, low);
  const boundary = part.search(/\s\S*$/);
  return (boundary > 0 && low < block.length ? part.slice(0, boundary) : part).trimEnd();
}
