/**
 * The paper's tag parser (verifiers `XMLParser.parse`): for a tag, the first match of
 * `<tag>\s*(.*?)\s*</tag>` with the dot matching newlines, stripped. Also counts tag occurrences for
 * the tag-usage reward. Python's `str.strip()` is reproduced with `String.prototype.trim()`.
 */

const PATTERN_CACHE = new Map<string, RegExp>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function tagPattern(tag: string): RegExp {
  let pattern = PATTERN_CACHE.get(tag);
  if (pattern === undefined) {
    const escaped = escapeRegExp(tag);
    pattern = new RegExp(`<${escaped}>\\s*(.*?)\\s*</${escaped}>`, 's');
    PATTERN_CACHE.set(tag, pattern);
  }
  return pattern;
}

/**
 * The content of the first `<tag>...</tag>` in `text`, or undefined when there is none.
 * With `strip` (the default) the content is trimmed, as the reference parser does.
 */
export function parseTag(text: string, tag: string, strip = true): string | undefined {
  const match = tagPattern(tag).exec(text);
  if (match === null) return undefined;
  const content = match[1] ?? '';
  return strip ? content.trim() : content;
}

/** The contents of every `<tag>...</tag>` in `text`, in order (each as `parseTag` reads the first). */
export function parseTags(text: string, tag: string, strip = true): string[] {
  const pattern = new RegExp(tagPattern(tag).source, 'gs');
  return Array.from(text.matchAll(pattern), (match) => (strip ? (match[1] ?? '').trim() : (match[1] ?? '')));
}

/** How many times `needle` occurs in `text` without overlap (Python `str.count`). */
export function countOccurrences(text: string, needle: string): number {
  if (needle.length === 0) return text.length + 1;
  let count = 0;
  let from = 0;
  for (;;) {
    const at = text.indexOf(needle, from);
    if (at < 0) return count;
    count++;
    from = at + needle.length;
  }
}
