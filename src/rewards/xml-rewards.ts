/**
 * The paper's two format rewards (outcome level; reference `XMLParser.get_format_reward_func` and
 * `get_xml_reward_func` with fields `["reasoning", ("tool", "answer")]`), reproduced exactly:
 * - XML format (0..0.2): per assistant message, 0.4 x (field sets present / field sets) when some
 *   field parsed, + 0.2 for "spacing" (the reference re-parses with the same regex, so it is always
 *   awarded), + 0.2 when the stripped text starts with a tag of the first field set, + 0.2 when it
 *   ends with a closing tag of the last set; averaged over messages, times 0.2. A tag-free message
 *   scores 0.2 x 0.2 = 0.04.
 * - XML tag usage (0..0.2): per message and per tag seen, (1 - |#<tag> - 1|) + (1 - |#</tag> - 1|)
 *   over 2 checks (0 for a message with no tags); averaged, times 0.2, floored at 0.
 */
import type { Message } from '../types.js';
import { countOccurrences, parseTag } from '../env/xml-tags.js';
import type { RewardFunction } from './reward-function.js';

/** Field sets of the paper's parser: each set lists alternative tags. */
export const PAPER_XML_FIELDS: readonly (readonly string[])[] = [['reasoning'], ['tool', 'answer']];

/** Options of the XML rewards. */
export interface XmlRewardOptions {
  /** Field sets (default: `[['reasoning'], ['tool', 'answer']]`). */
  fields?: readonly (readonly string[])[];
}

function hasTag(content: string, tag: string): boolean {
  return countOccurrences(content, `<${tag}>`) > 0 || countOccurrences(content, `</${tag}>`) > 0;
}

/** The format score of one message, before the 0.2 scaling (0..1). */
export function xmlFormatScore(content: string, fields: readonly (readonly string[])[] = PAPER_XML_FIELDS): number {
  let hasAnyField = false;
  let hasCorrectSpacing = true;
  let presentSets = 0;
  for (const alternatives of fields) {
    let setPresent = false;
    for (const tag of alternatives) {
      if (parseTag(content, tag) !== undefined) {
        hasAnyField = true;
        setPresent = true;
        if (parseTag(content, tag, false) === undefined) hasCorrectSpacing = false;
      } else if (hasTag(content, tag)) {
        setPresent = true;
      }
    }
    if (setPresent) presentSets++;
  }
  const stripped = content.trim();
  let score = 0;
  if (hasAnyField) score += 0.4 * (presentSets / fields.length);
  if (hasCorrectSpacing) score += 0.2;
  if (fields[0]!.some((tag) => stripped.startsWith(`<${tag}>`))) score += 0.2;
  if (fields[fields.length - 1]!.some((tag) => stripped.endsWith(`</${tag}>`))) score += 0.2;
  return score;
}

/** The tag-usage score of one message, before scaling (may be negative). */
export function xmlTagUsageScore(content: string, fields: readonly (readonly string[])[] = PAPER_XML_FIELDS): number {
  let score = 0;
  let checks = 0;
  for (const alternatives of fields) {
    for (const tag of alternatives) {
      if (!hasTag(content, tag)) continue;
      score += 1 - Math.abs(countOccurrences(content, `<${tag}>`) - 1);
      score += 1 - Math.abs(countOccurrences(content, `</${tag}>`) - 1);
      checks += 2;
    }
  }
  return checks > 0 ? score / checks : 0;
}

function assistantContents(completion: Message[]): string[] {
  return completion.filter((message) => message.role === 'assistant').map((message) => message.content);
}

function checkFields(fields: readonly (readonly string[])[]): readonly (readonly string[])[] {
  if (fields.length === 0 || fields.some((set) => set.length === 0))
    throw new TypeError('XML rewards: fields must be non-empty sets of tag names');
  return fields;
}

/** XML format: 0.2 x the mean per-message format score (outcome). */
export function xmlFormatReward<Row = unknown>(options: XmlRewardOptions = {}): RewardFunction<Row> {
  const fields = checkFields(options.fields ?? PAPER_XML_FIELDS);
  return {
    name: 'xml_format',
    level: 'outcome',
    score({ completion }) {
      const contents = assistantContents(completion);
      if (contents.length === 0) return 0;
      return 0.2 * (contents.reduce((sum, content) => sum + xmlFormatScore(content, fields), 0) / contents.length);
    },
  };
}

/** XML tag usage: 0.2 x the mean per-message tag score, floored at 0 (outcome). */
export function xmlTagUsageReward<Row = unknown>(options: XmlRewardOptions = {}): RewardFunction<Row> {
  const fields = checkFields(options.fields ?? PAPER_XML_FIELDS);
  return {
    name: 'xml_tags',
    level: 'outcome',
    score({ completion }) {
      const contents = assistantContents(completion);
      if (contents.length === 0) return 0;
      const mean = contents.reduce((sum, content) => sum + xmlTagUsageScore(content, fields), 0) / contents.length;
      return Math.max(0, 0.2 * mean);
    },
  };
}
