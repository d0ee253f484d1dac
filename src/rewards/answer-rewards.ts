/**
 * The paper's two answer rewards (outcome level; reference `TrivialQAToolRubric`):
 * - final-answer presence: 0.5 if any alias (lower-cased) is a substring of the lower-cased last
 *   parseable answer;
 * - exact match: 1.0 if the stripped, lower-cased answer equals a stripped, lower-cased alias.
 * Both read the answer of the last assistant message that has one. A different normaliser
 * (SQuAD-style) can replace the paper's comparison; the paper-exact one is the default.
 */
import type { MessageFormat } from '../env/message-format.js';
import { XmlFormat } from '../env/xml-format.js';
import type { Message } from '../types.js';
import { normalizePaper, type AnswerNormalizer } from './normalize-answer.js';
import type { RewardFunction } from './reward-function.js';
import { defaultAnswers, type AnswersOf } from './answers.js';

/** Options of the answer rewards. */
export interface AnswerRewardOptions<Row> {
  /** The accepted answers (aliases) of a row (default: `row.answers`). */
  answers?: AnswersOf<Row>;
  /** How tool calls and answers are written (default: the paper's XML format). */
  format?: MessageFormat;
  /** Normaliser applied to answer and aliases (default: the paper's lower-case + strip). */
  normalize?: AnswerNormalizer;
}

/** The answer of the last assistant message holding a parseable answer (reference `get_last_answer`). */
export function lastAnswer(completion: Message[], format: MessageFormat): string | undefined {
  for (let i = completion.length - 1; i >= 0; i--) {
    const message = completion[i]!;
    if (message.role !== 'assistant') continue;
    const answer = format.parseAnswer(message.content);
    if (answer !== undefined) return answer;
  }
  return undefined;
}

/** Final-answer presence: 0.5 when an alias occurs in the last answer (outcome). */
export function answerPresenceReward<Row>(options: AnswerRewardOptions<Row> = {}): RewardFunction<Row> {
  const format = options.format ?? new XmlFormat();
  const answersOf = options.answers ?? defaultAnswers;
  const normalize = options.normalize ?? ((text: string) => text.toLowerCase());
  return {
    name: 'answer_presence',
    level: 'outcome',
    score({ completion, row }) {
      const answer = lastAnswer(completion, format);
      if (answer === undefined) return 0;
      const haystack = normalize(answer);
      return answersOf(row).some((alias) => haystack.includes(normalize(alias))) ? 0.5 : 0;
    },
  };
}

/** Exact match: 1.0 when the last answer equals an alias after normalisation (outcome). */
export function exactMatchReward<Row>(options: AnswerRewardOptions<Row> = {}): RewardFunction<Row> {
  const format = options.format ?? new XmlFormat();
  const answersOf = options.answers ?? defaultAnswers;
  const normalize = options.normalize ?? normalizePaper;
  return {
    name: 'exact_match',
    level: 'outcome',
    score({ completion, row }) {
      const answer = lastAnswer(completion, format);
      if (answer === undefined) return 0;
      const normalized = normalize(answer);
      return answersOf(row).some((alias) => normalize(alias) === normalized) ? 1 : 0;
    },
  };
}
