/**
 * The paper's tag parser (verifiers `XMLParser.parse`): for a tag, the first match of
 * `<tag>\s*(.*?)\s*</tag>` with the dot matching newlines, stripped. Also counts tag occurrences for
 * the tag-usage reward. The regex backtracks without bound on an unclosed tag followed by a long run
 * of whitespace (seconds for a few thousand spaces), so it is computed by two forward scans instead:
 * the first `<tag>` that some `</tag>` follows, up to the first `</tag>` after it, trimmed. The
 * regex's `\s` and `String.prototype.trim()` strip the same characters (WhiteSpace and
 * LineTerminator), so the group is the trimmed text between the tags whether or not `strip` is set.
 * Each scan reads every character at most once (`ScanMeter` counts it for the tests).
 */
import { findCounted, type ScanMeter } from './scan-meter.js';

/** One `<tag>...</tag>`: its content (trimmed) and where the text after its closing tag starts. */
interface TagMatch {
  content: string;
  next: number;
}

function matchFrom(text: string, tag: string, from: number, meter: ScanMeter | undefined): TagMatch | undefined {
  const open = `<${tag}>`;
  const close = `</${tag}>`;
  const at = findCounted(text, open, from, meter);
  if (at < 0) return undefined;
  const closeAt = findCounted(text, close, at + open.length, meter);
  if (closeAt < 0) return undefined;
  return { content: text.slice(at + open.length, closeAt).trim(), next: closeAt + close.length };
}

/**
 * The content of the first `<tag>...</tag>` in `text`, or undefined when there is none, trimmed as
 * the reference parser's regex and `strip` leave it. Linear in `text`; `meter` counts the work.
 */
export function parseTag(text: string, tag: string, _strip = true, meter?: ScanMeter): string | undefined {
  return matchFrom(text, tag, 0, meter)?.content;
}

/** The contents of every `<tag>...</tag>` in `text`, in order (each as `parseTag` reads the first). */
export function parseTags(text: string, tag: string, _strip = true, meter?: ScanMeter): string[] {
  const contents: string[] = [];
  for (let match = matchFrom(text, tag, 0, meter); match; match = matchFrom(text, tag, match.next, meter)) {
    contents.push(match.content);
  }
  return contents;
}

/** How many times `needle` occurs in `text` without overlap (Python `str.count`). */
export function countOccurrences(text: string, needle: string, meter?: ScanMeter): number {
  if (needle.length === 0) return text.length + 1;
  let count = 0;
  let from = 0;
  for (;;) {
    const at = findCounted(text, needle, from, meter);
    if (at < 0) return count;
    count++;
    from = at + needle.length;
  }
}
