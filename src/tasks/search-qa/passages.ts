/**
 * Splits documents into passages of about a hundred words at index time, on line (paragraph)
 * boundaries where possible. A search then returns the best-matching passage of a document
 * instead of its head, so the answer-bearing lines fit in a small tool-output budget.
 */

/** Passage sizes in words. */
export interface PassageOptions {
  /** Target words per passage (default 100). */
  targetWords: number;
  /** A single line longer than this is cut into windows of `targetWords` (default 150). */
  maxWords: number;
}

/** The default passage sizes. */
export const DEFAULT_PASSAGE_OPTIONS: PassageOptions = { targetWords: 100, maxWords: 150 };

/** Cuts a document text into consecutive passages; their concatenation keeps every word. */
export function splitPassages(text: string, options: PassageOptions = DEFAULT_PASSAGE_OPTIONS): string[] {
  const units: string[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const words = trimmed.split(/\s+/);
    if (words.length <= options.maxWords) {
      units.push(trimmed);
      continue;
    }
    for (let start = 0; start < words.length; start += options.targetWords) {
      units.push(words.slice(start, start + options.targetWords).join(' '));
    }
  }
  const passages: string[] = [];
  let current: string[] = [];
  let currentWords = 0;
  for (const unit of units) {
    const unitWords = countWords(unit);
    if (currentWords > 0 && currentWords + unitWords > options.maxWords) {
      passages.push(current.join('\n'));
      current = [];
      currentWords = 0;
    }
    current.push(unit);
    currentWords += unitWords;
    if (currentWords >= options.targetWords) {
      passages.push(current.join('\n'));
      current = [];
      currentWords = 0;
    }
  }
  if (current.length > 0) passages.push(current.join('\n'));
  return passages;
}

function countWords(text: string): number {
  let count = 0;
  for (const part of text.split(/\s+/)) if (part !== '') count++;
  return count;
}
