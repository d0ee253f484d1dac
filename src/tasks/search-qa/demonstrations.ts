/**
 * Scripted demonstrations of the tool-use format for the warm start's supervised fine-tuning,
 * deliberately imperfect (issue: the base must call the tool correctly only part of the time and
 * answer few questions right, like the paper's base model):
 *   - good:        searches with the question and answers from the result (an alias it shows,
 *                  else the top hit's title);
 *   - poorQuery:   searches with a few words of the question and answers with the top hit's title;
 *   - noSearch:    answers at once with a guess (another question's answer of the same family);
 *   - brokenFormat: bad tool JSON, a missing tag, or plain text without tags.
 * Each demonstration is the list of assistant replies of one episode, played by a scripted policy
 * through the real environment, so the tokens trained on are exactly those the rollout loop makes.
 * The calls are written in the task's format: the paper's `<tool>` XML, or the Hermes `<tool_call>`
 * exactly as the gateway re-renders a call (`task.format: hermes`).
 */
import type { Random } from '../../random.js';
import type { QuestionRow } from './types.js';
import type { WikiSearchTool } from './wiki-search-tool.js';
import type { SearchQaConfig } from './config.js';
import { hermesSearchCall } from './hermes-env.js';

/** The kinds of demonstration, in the order of `warmStart.demoMix`. */
export const DEMO_KINDS = ['good', 'poorQuery', 'noSearch', 'brokenFormat'] as const;

/** One kind of demonstration. */
export type DemoKind = (typeof DEMO_KINDS)[number];

/** A scripted episode: the assistant replies in order. */
export interface Demonstration {
  row: QuestionRow;
  kind: DemoKind;
  replies: string[];
}

const SEARCH_REASONING = ['I should search for this.', 'Let me look this up.', 'I will search for it.'];
const ANSWER_REASONING = ['The result gives the answer.', 'Based on the result:', 'The search result shows it.'];
const GUESS_REASONING = ['I think I know this.', 'I will answer directly.'];

const xmlToolCall = (query: string) =>
  `<tool>{"name": "wiki_search", "args": {"query": ${JSON.stringify(query)}}}</tool>`;
/** A call whose JSON lacks its last brace, in each format. */
const BROKEN_CALLS = {
  xml: (query: string) => `<tool>{"name": "wiki_search", "args": {"query": ${JSON.stringify(query)}}</tool>`,
  hermes: (query: string) => hermesSearchCall(query).replace('}}\n</tool_call>', '}\n</tool_call>'),
};
const pick = <T>(random: Random, items: readonly T[]): T => items[random.int(items.length)]!;

/** Chooses a demonstration kind from the configured mix. */
export function chooseKind(mix: SearchQaConfig['warmStart']['demoMix'], random: Random): DemoKind {
  const weights = DEMO_KINDS.map((kind) => mix[kind]);
  const total = weights.reduce((a, b) => a + b, 0);
  let draw = random.next() * total;
  for (let i = 0; i < DEMO_KINDS.length; i++) {
    draw -= weights[i]!;
    if (draw < 0) return DEMO_KINDS[i]!;
  }
  return 'good';
}

/** The answer a searcher reads off a result: an alias the result shows (title first), else the title. */
export function answerFromResult(row: QuestionRow, resultText: string): string {
  const title = resultText.split('\n')[0]!.trim();
  const lower = resultText.toLowerCase();
  if (row.answers.some((answer) => answer.toLowerCase() === title.toLowerCase())) return title;
  const shown = row.answers
    .filter((answer) => lower.includes(answer.toLowerCase()))
    .sort((a, b) => b.length - a.length)[0];
  return shown ?? title;
}

/** A few words of the question: the poor query of a careless searcher. */
function poorQuery(question: string, random: Random): string {
  const words = question
    .replace(/[?.,:]/g, ' ')
    .split(/\s+/)
    .filter((word) => word.length > 0);
  const start = random.int(Math.max(1, words.length - 2));
  return words.slice(start, start + 1 + random.int(2)).join(' ');
}

/** Makes the scripted replies of one demonstration. */
export function makeDemonstration(options: {
  row: QuestionRow;
  kind: DemoKind;
  tool: WikiSearchTool;
  random: Random;
  guessPool: string[];
  /** How calls are written (default xml, the paper's). */
  format?: 'xml' | 'hermes';
}): Demonstration {
  const { row, kind, tool, random } = options;
  const format = options.format ?? 'xml';
  const toolCall = format === 'hermes' ? (query: string) => hermesSearchCall(query) : xmlToolCall;
  const searchThenAnswer = (query: string, answerOf: (text: string) => string) => {
    const result = tool.run(query).text;
    return [
      `<reasoning>${pick(random, SEARCH_REASONING)}</reasoning>\n${toolCall(query)}`,
      `<reasoning>${pick(random, ANSWER_REASONING)}</reasoning>\n<answer>${answerOf(result)}</answer>`,
    ];
  };
  const guess = options.guessPool.length > 0 ? pick(random, options.guessPool) : row.answers[0]!;
  switch (kind) {
    case 'good':
      return { row, kind, replies: searchThenAnswer(row.question, (text) => answerFromResult(row, text)) };
    case 'poorQuery':
      return {
        row,
        kind,
        replies: searchThenAnswer(poorQuery(row.question, random), (text) => text.split('\n')[0]!.trim() || guess),
      };
    case 'noSearch':
      return {
        row,
        kind,
        replies: [`<reasoning>${pick(random, GUESS_REASONING)}</reasoning>\n<answer>${guess}</answer>`],
      };
    case 'brokenFormat': {
      const variant = random.int(3);
      if (variant === 0) {
        // Bad JSON: the environment answers with an error inside <result>.
        return {
          row,
          kind,
          replies: [
            `<reasoning>${pick(random, SEARCH_REASONING)}</reasoning>\n${BROKEN_CALLS[format](row.question)}`,
            `<answer>${guess}</answer>`,
          ],
        };
      }
      if (variant === 1) {
        // Missing reasoning tags, answer after a search.
        return {
          row,
          kind,
          replies: [
            `${pick(random, SEARCH_REASONING)}\n${toolCall(row.question)}`,
            `${pick(random, ANSWER_REASONING)} ${guess}</answer>`,
            `<answer>${guess}</answer>`,
          ],
        };
      }
      // Plain text without tags: the environment says the format is invalid; then a bare answer.
      return { row, kind, replies: [`${pick(random, GUESS_REASONING)} ${guess}`, `<answer>${guess}</answer>`] };
    }
  }
}
