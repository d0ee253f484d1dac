/**
 * Answer normalisation and matching for the search-QA task. `normalizeAnswer` is TriviaQA's
 * normalisation (the form of its `normalized_aliases`); `containsAnswer` matches an alias on word
 * boundaries after normalisation with accents folded, which is stricter than the paper's raw
 * substring test ("h" no longer matches inside "hydrogen").
 */

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~‘’´“”–—]/g;

/** TriviaQA's answer normalisation: lower case, punctuation to spaces, articles removed, spaces collapsed. */
export function normalizeAnswer(text: string): string {
  return text
    .replace(/_/g, ' ')
    .toLowerCase()
    .replace(PUNCTUATION, ' ')
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter((word) => word.length > 0)
    .join(' ');
}

/** Removes diacritics (`Segrè` -> `Segre`) so accented and plain spellings match. */
export function foldAccents(text: string): string {
  return text.normalize('NFD').replace(/\p{M}+/gu, '');
}

/** The key two strings are compared by: TriviaQA normalisation of the accent-folded text. */
export function matchKey(text: string): string {
  return normalizeAnswer(foldAccents(text));
}

/** Distinct normalised forms of a list of aliases, in first-seen order, empty ones dropped. */
export function normalizeAliases(aliases: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const alias of aliases) {
    const key = normalizeAnswer(alias);
    if (key.length > 0) seen.add(key);
  }
  return [...seen];
}

/**
 * The aliases the paper's comparison (an answer lower-cased and stripped) accepts for a built
 * question: each alias's TriviaQA form and, where that form differs, the alias as the corpus writes
 * it, lower-cased. Without the written form, a copy of ".dz", "29,900" or "66.3%" from the result
 * never scored: two thirds of the Factbook field questions and every internet-code question.
 */
export function scoredAliases(aliases: readonly string[]): string[] {
  const seen = new Set(normalizeAliases(aliases));
  for (const alias of aliases) {
    const written = alias.toLowerCase().trim();
    if (written.length > 0) seen.add(written);
  }
  return [...seen];
}

/** A prepared text for repeated alias look-ups (normalise once, test many aliases). */
export class MatchableText {
  private readonly padded: string;

  constructor(text: string) {
    this.padded = ` ${matchKey(text)} `;
  }

  /** True when the alias occurs in the text as whole words (after normalisation). */
  contains(alias: string): boolean {
    const key = matchKey(alias);
    return key.length > 0 && this.padded.includes(` ${key} `);
  }
}

/** True when any alias occurs in the text on word boundaries after normalisation. */
export function containsAnswer(text: string, aliases: readonly string[]): boolean {
  const matchable = new MatchableText(text);
  return aliases.some((alias) => matchable.contains(alias));
}

/** Exact match after normalisation of both sides (the lenient form of the paper's exact match). */
export function normalizedExactMatch(answer: string, aliases: readonly string[]): boolean {
  const key = matchKey(answer);
  return key.length > 0 && aliases.some((alias) => matchKey(alias) === key);
}
