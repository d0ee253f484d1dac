/**
 * The rewards of the search-QA task: the paper's six reward functions wired to the question rows,
 * plus the stricter "retrieved text contains the answer" that only counts an answer shown inside a
 * gold document (short answers such as "H" or ".mt" otherwise match by accident), and exact match
 * in the paper's form (lower-case + strip against the normalised aliases) or normalised on both sides.
 */
import type { MessageFormat } from '../../env/message-format.js';
import { XmlFormat } from '../../env/xml-format.js';
import { answerPresenceReward, exactMatchReward } from '../../rewards/answer-rewards.js';
import { normalizePaper, normalizeTriviaQa } from '../../rewards/normalize-answer.js';
import type { RewardFunction } from '../../rewards/reward-function.js';
import { Rubric, type RubricOptions } from '../../rewards/rubric.js';
import { searchAnswerReward, toolExecutionReward } from '../../rewards/tool-rewards.js';
import { xmlFormatReward, xmlTagUsageReward } from '../../rewards/xml-rewards.js';
import { DataError } from '../../errors.js';
import { MatchableText } from './text-match.js';
import type { QuestionRow } from './types.js';
import type { WikiSearchTool } from './wiki-search-tool.js';

/** Options of the search-QA rubric. */
export interface SearchQaRubricOptions extends RubricOptions {
  /** The search tool the environment uses; needed by the gold-document search reward. */
  tool?: WikiSearchTool;
  /**
   * `paper` (default): 0.5 when an alias is a lower-cased substring of the first result.
   * `gold`: 0.5 when an alias occurs (whole words) in a gold document's shown text.
   */
  searchAnswer?: 'paper' | 'gold';
  /**
   * `paper` (default): the answer lower-cased and stripped equals a TriviaQA-normalised alias.
   * `normalized`: both sides TriviaQA-normalised, so "The Beatles" equals "Beatles".
   */
  exactMatch?: 'paper' | 'normalized';
  /** Message format (default: the paper's XML format). */
  format?: MessageFormat;
  /** Field sets of the two XML format rewards (default the paper's `[['reasoning'], ['tool', 'answer']]`). */
  xmlFields?: readonly (readonly string[])[];
}

/** The paper's rubric for search-QA rows, with the gold-document and normalised variants on request. */
export function createSearchQaRubric(options: SearchQaRubricOptions = {}): Rubric<QuestionRow> {
  const format = options.format ?? new XmlFormat();
  // The paper's aliases are TriviaQA's normalized_aliases; ours are `normalizedAnswers`.
  const paperAnswers = (row: QuestionRow) => row.normalizedAnswers;
  const searchReward =
    options.searchAnswer === 'gold'
      ? goldSearchAnswerReward({ tool: requireTool(options.tool), format })
      : searchAnswerReward<QuestionRow>({ answers: paperAnswers, format });
  const exactMatch =
    options.exactMatch === 'normalized'
      ? {
          ...exactMatchReward<QuestionRow>({ answers: (row) => row.answers, format, normalize: normalizeTriviaQa }),
          name: 'exact_match_normalized',
        }
      : exactMatchReward<QuestionRow>({ answers: paperAnswers, format, normalize: normalizePaper });
  return new Rubric<QuestionRow>(
    [
      toolExecutionReward<QuestionRow>({ format }),
      searchReward,
      answerPresenceReward<QuestionRow>({ answers: paperAnswers, format }),
      exactMatch,
      xmlFormatReward<QuestionRow>(options.xmlFields ? { fields: options.xmlFields } : {}),
      xmlTagUsageReward<QuestionRow>(options.xmlFields ? { fields: options.xmlFields } : {}),
    ],
    options,
  );
}

/** Options of the gold-document search reward. */
export interface GoldSearchAnswerOptions {
  /** The tool whose results are checked; the first call's query is re-run with its settings. */
  tool: WikiSearchTool;
  format?: MessageFormat;
  /** Reward value (default 0.5, the paper's scale). */
  value?: number;
  /** The turn it scores (default 0). */
  turn?: number;
}

/**
 * Search-result answer presence, strict form (turn level): takes the first tool call answered by a
 * result, re-runs its query with the tool's own settings (the index is static, so this reproduces
 * the result exactly) and gives the reward when an alias occurs on word boundaries in the shown text
 * of a gold document. Rows without gold ids use `goldTitles`; rows with neither accept any shown hit.
 */
export function goldSearchAnswerReward(options: GoldSearchAnswerOptions): RewardFunction<QuestionRow> {
  const format = options.format ?? new XmlFormat();
  const value = options.value ?? 0.5;
  return {
    name: 'search_answer_gold',
    level: 'turn',
    turn: options.turn ?? 0,
    score({ trajectory, row }) {
      const turn = trajectory.turns.find((candidate) => candidate.isToolResult && candidate.env !== undefined);
      if (!turn || turn.toolFailed) return 0;
      const call = turn.toolCalls[0];
      if (!call || call.name !== options.tool.name || typeof call.arguments.query !== 'string') return 0;
      const shownText = format.parseResult(turn.env!.content);
      const rerun = options.tool.run(call.arguments.query);
      if (shownText === undefined || rerun.text.trim() !== shownText.trim()) {
        throw new DataError(
          `search_answer_gold: re-running the query ` +
            `${JSON.stringify(call.arguments.query.slice(0, 80))} gave another result than the ` +
            'episode showed; build the rubric with the same wiki_search tool (index and settings) as the environment',
        );
      }
      const goldIds = new Set(row.gold);
      const goldTitles = new Set(row.goldTitles ?? []);
      const anyHit = goldIds.size === 0 && goldTitles.size === 0;
      for (const item of rerun.shown) {
        if (!anyHit && !goldIds.has(item.hit.docId) && !goldTitles.has(item.hit.title)) continue;
        const matchable = new MatchableText(item.shown);
        if (row.answers.some((answer) => matchable.contains(answer))) return value;
      }
      return 0;
    },
  };
}

function requireTool(tool: WikiSearchTool | undefined): WikiSearchTool {
  if (!tool)
    throw new DataError(
      "createSearchQaRubric: searchAnswer 'gold' needs options.tool (the environment's wiki_search tool)",
    );
  return tool;
}
