/**
 * The paper's two turn-level rewards (R^T, scoring turn 0; reference `ToolRubric` and
 * `TrivialQAToolRubric`):
 * - tool execution: 0.2 x successes / attempts. An attempt is an assistant message with a
 *   parseable tool call followed by an environment message; it succeeded when that message parses a
 *   result whose (stripped) text does not start with `Error:`. 0 when there was no attempt.
 * - search-result answer presence: 0.5 when an alias (lower-cased) is a substring of the lower-cased
 *   text of the first result that followed a tool call.
 */
import type { MessageFormat } from '../env/message-format.js';
import { XmlFormat } from '../env/xml-format.js';
import type { Message } from '../types.js';
import { defaultAnswers, type AnswersOf } from './answers.js';
import type { RewardFunction } from './reward-function.js';

/** Options of the tool rewards. */
export interface ToolRewardOptions<Row> {
  /** The accepted answers of a row, for the search-result reward (default: `row.answers`). */
  answers?: AnswersOf<Row>;
  /** How tool calls and results are written (default: the paper's XML format). */
  format?: MessageFormat;
  /** The turn the reward scores (default 0, the paper's turn 1). */
  turn?: number;
}

/** True when `completion[index]` is an assistant tool call answered by an environment message. */
function isAnsweredToolCall(completion: Message[], index: number, format: MessageFormat): boolean {
  const message = completion[index]!;
  const next = completion[index + 1];
  return (
    message.role === 'assistant' &&
    next !== undefined &&
    next.role !== 'assistant' &&
    format.parseToolCall(message.content) !== undefined
  );
}

/** Tool execution: 0.2 x the fraction of tool calls whose result is not an error (turn level). */
export function toolExecutionReward<Row>(options: ToolRewardOptions<Row> = {}): RewardFunction<Row> {
  const format = options.format ?? new XmlFormat();
  return {
    name: 'tool_execution',
    level: 'turn',
    turn: options.turn ?? 0,
    score({ completion }) {
      let attempts = 0;
      let successes = 0;
      for (let i = 0; i < completion.length; i++) {
        if (!isAnsweredToolCall(completion, i, format)) continue;
        attempts++;
        const result = format.parseResult(completion[i + 1]!.content);
        if (result !== undefined && !result.startsWith('Error:')) successes++;
      }
      return attempts === 0 ? 0 : 0.2 * (successes / attempts);
    },
  };
}

/** The text of the first result that answered a tool call (reference `get_search_results`). */
export function firstToolResult(completion: Message[], format: MessageFormat): string | undefined {
  for (let i = 0; i < completion.length; i++) {
    if (!isAnsweredToolCall(completion, i, format)) continue;
    const result = format.parseResult(completion[i + 1]!.content);
    if (result !== undefined) return result;
  }
  return undefined;
}

/** Search-result answer presence: 0.5 when an alias occurs in the first tool result (turn level). */
export function searchAnswerReward<Row>(options: ToolRewardOptions<Row> = {}): RewardFunction<Row> {
  const format = options.format ?? new XmlFormat();
  const answersOf = options.answers ?? defaultAnswers;
  return {
    name: 'search_answer',
    level: 'turn',
    turn: options.turn ?? 0,
    score({ completion, row }) {
      const result = firstToolResult(completion, format);
      if (result === undefined) return 0;
      const haystack = result.toLowerCase();
      return answersOf(row).some((alias) => haystack.includes(alias.toLowerCase())) ? 0.5 : 0;
    },
  };
}
