/**
 * The paper's rubric (PAPER.md section 2, all weights 1): turn-level R^T = tool execution +
 * search-result answer presence (scoring turn 0), outcome R^O = final-answer presence + exact
 * match + XML format + XML tag usage.
 */
import type { MessageFormat } from '../env/message-format.js';
import { exactMatchReward, answerPresenceReward } from './answer-rewards.js';
import type { AnswersOf } from './answers.js';
import type { AnswerNormalizer } from './normalize-answer.js';
import { Rubric, type RubricOptions } from './rubric.js';
import { searchAnswerReward, toolExecutionReward } from './tool-rewards.js';
import { xmlFormatReward, xmlTagUsageReward } from './xml-rewards.js';

/** Options of the paper's rubric. */
export interface PaperRubricOptions<Row> extends RubricOptions {
  /** The accepted answers of a row (default: `row.answers`). */
  answers?: AnswersOf<Row>;
  /** Message format of tool calls, results and answers (default: the paper's XML format). */
  format?: MessageFormat;
  /** Exact-match normaliser (default: the paper's lower-case + strip). */
  normalize?: AnswerNormalizer;
  /**
   * Tag sets of the two format rewards (default `[['reasoning'], ['tool', 'answer']]`); with the
   * Hermes format pass e.g. `[['tool_call', 'answer']]`.
   */
  xmlFields?: readonly (readonly string[])[];
}

/** The paper's six reward functions in one rubric. */
export function createPaperRubric<Row = unknown>(options: PaperRubricOptions<Row> = {}): Rubric<Row> {
  const { answers, format, normalize, xmlFields } = options;
  const fields = xmlFields ? { fields: xmlFields } : {};
  const shared = { ...(answers && { answers }), ...(format && { format }) };
  return new Rubric<Row>(
    [
      toolExecutionReward<Row>(shared),
      searchAnswerReward<Row>(shared),
      answerPresenceReward<Row>(shared),
      exactMatchReward<Row>({ ...shared, ...(normalize && { normalize }) }),
      xmlFormatReward<Row>(fields),
      xmlTagUsageReward<Row>(fields),
    ],
    options,
  );
}
