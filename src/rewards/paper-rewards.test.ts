import { describe, expect, it } from 'vitest';
import { HermesFormat } from '../env/hermes-format.js';
import { answerPresenceReward, exactMatchReward } from './answer-rewards.js';
import { normalizeSquad } from './normalize-answer.js';
import { createPaperRubric } from './paper-rubric.js';
import type { RewardFunction } from './reward-function.js';
import {
  assistantMessage as assistant,
  trajectoryFromMessages as trajectoryOf,
  userMessage as user,
} from '../testing/trajectory-from-messages.js';
import { searchAnswerReward, toolExecutionReward } from './tool-rewards.js';
import { xmlFormatReward, xmlFormatScore, xmlTagUsageReward, xmlTagUsageScore } from './xml-rewards.js';
import type { Message } from '../types.js';

type Row = { question: string; answers: string[] };
const row: Row = { question: 'Who sang Help!?', answers: ['beatles', 'the beatles'] };

async function score(fn: RewardFunction<Row>, completion: Message[], r: Row = row): Promise<number> {
  const trajectory = trajectoryOf(completion);
  return (await fn.score({ trajectory, row: r, completion })) as number;
}

const TOOL =
  '<reasoning>\nI should search.\n</reasoning>\n<tool>\n' +
  '{"name": "wiki_search", "args": {"query": "Help! song"}}\n</tool>';
const RESULT = '<result>\nHelp! is a song by the English rock band the Beatles.\n</result>';
const ANSWER = '<reasoning>\nThe article names the band.\n</reasoning>\n<answer>\nThe Beatles\n</answer>';
const ideal = [assistant(TOOL), user(RESULT), assistant(ANSWER)];

describe('tool execution reward (0.2 x successes / attempts)', () => {
  it('gives 0.2 for one successful call', async () => {
    expect(await score(toolExecutionReward(), ideal)).toBeCloseTo(0.2, 12);
  });

  it('gives 0.1 for one success and one Error: result', async () => {
    const completion = [
      assistant(TOOL),
      user(RESULT),
      assistant(TOOL),
      user("<result>\nError: Unknown tool 'x'\n</result>"),
      assistant(ANSWER),
    ];
    expect(await score(toolExecutionReward(), completion)).toBeCloseTo(0.1, 12);
  });

  it('counts a reply without <result> (empty output) as a failed attempt', async () => {
    expect(
      await score(toolExecutionReward(), [
        assistant(TOOL),
        user('Error: Tool execution returned empty output.'),
        assistant(ANSWER),
      ]),
    ).toBe(0);
  });

  it('gives 0 without attempts, and does not count a tool call that no message followed', async () => {
    expect(await score(toolExecutionReward(), [assistant(ANSWER)])).toBe(0);
    expect(await score(toolExecutionReward(), [assistant(TOOL), user(RESULT), assistant(TOOL)])).toBeCloseTo(0.2, 12);
  });

  it('treats a result that starts with Error: after stripping as a failure', async () => {
    expect(
      await score(toolExecutionReward(), [
        assistant(TOOL),
        user('<result>\n  Error: during search: timeout\n</result>'),
      ]),
    ).toBe(0);
  });

  it('works with the Hermes format', async () => {
    const format = new HermesFormat();
    const completion = [
      assistant('<tool_call>{"name": "wiki_search", "arguments": {"query": "x"}}</tool_call>'),
      user('<tool_response>\nok\n</tool_response>'),
    ];
    expect(await score(toolExecutionReward({ format }), completion)).toBeCloseTo(0.2, 12);
  });
});

describe('search-result answer presence (0.5 if an alias is in the first result)', () => {
  it('gives 0.5 when a lower-cased alias occurs in the lower-cased result', async () => {
    expect(await score(searchAnswerReward(), ideal)).toBe(0.5);
  });

  it('gives 0 when no alias occurs, or there is no result', async () => {
    expect(
      await score(searchAnswerReward(), [
        assistant(TOOL),
        user('<result>\nNo relevant Wikipedia content found.\n</result>'),
      ]),
    ).toBe(0);
    expect(await score(searchAnswerReward(), [assistant(ANSWER)])).toBe(0);
  });

  it('reads only the first result that followed a tool call', async () => {
    const completion = [assistant(TOOL), user('<result>\nnothing here\n</result>'), assistant(TOOL), user(RESULT)];
    expect(await score(searchAnswerReward(), completion)).toBe(0);
  });

  it('skips a tool call whose reply has no <result>', async () => {
    const completion = [
      assistant(TOOL),
      user('Error: Tool execution returned empty output.'),
      assistant(TOOL),
      user(RESULT),
    ];
    expect(await score(searchAnswerReward(), completion)).toBe(0.5);
  });
});

describe('final-answer presence (0.5 if an alias is in the last answer)', () => {
  it('gives 0.5 for a substring match, case-insensitive', async () => {
    expect(await score(answerPresenceReward(), [assistant('<answer>It was THE BEATLES, 1965</answer>')])).toBe(0.5);
  });

  it('reads the last assistant message with a parseable answer', async () => {
    const completion = [
      assistant('<answer>The Beatles</answer>'),
      user('x'),
      assistant('<answer>The Rolling Stones</answer>'),
    ];
    expect(await score(answerPresenceReward(), completion)).toBe(0);
    expect(
      await score(answerPresenceReward(), [
        assistant('<answer>The Beatles</answer>'),
        user('x'),
        assistant('no answer here'),
      ]),
    ).toBe(0.5);
  });

  it('gives 0 without an answer', async () => {
    expect(await score(answerPresenceReward(), [assistant('<answer>unclosed beatles')])).toBe(0);
  });
});

describe('exact match (1 if the stripped lower-cased answer equals an alias)', () => {
  it('matches case-insensitively after stripping', async () => {
    expect(await score(exactMatchReward(), [assistant('<answer>\n  The BEATLES \n</answer>')])).toBe(1);
  });

  it('is paper-exact: no punctuation or article removal', async () => {
    const aliases = { question: 'q', answers: ['st louis'] };
    expect(await score(exactMatchReward(), [assistant('<answer>St. Louis</answer>')], aliases)).toBe(0);
    expect(
      await score(exactMatchReward({ normalize: normalizeSquad }), [assistant('<answer>St. Louis</answer>')], aliases),
    ).toBe(1);
  });

  it('gives 0 for a partial answer', async () => {
    expect(await score(exactMatchReward(), [assistant('<answer>The Beatles, a band</answer>')])).toBe(0);
  });
});

describe('XML format reward', () => {
  it('gives 0.2 to well-formed messages (0.4 + 0.2 + 0.2 + 0.2 per message)', async () => {
    expect(xmlFormatScore(TOOL)).toBeCloseTo(1, 12);
    expect(await score(xmlFormatReward(), ideal)).toBeCloseTo(0.2, 12);
  });

  it('gives a tag-free message 0.04: only the always-awarded spacing term', async () => {
    expect(xmlFormatScore('The Beatles.')).toBeCloseTo(0.2, 12);
    expect(await score(xmlFormatReward(), [assistant('The Beatles.')])).toBeCloseTo(0.04, 12);
  });

  it('scores partial formats exactly', () => {
    // reasoning only: 0.4 x 1/2 + 0.2 spacing + 0.2 start, no closing tool/answer at the end.
    expect(xmlFormatScore('<reasoning>x</reasoning> so the answer is Paris')).toBeCloseTo(0.6, 12);
    // an unclosed tag: set present but nothing parsed -> no 0.4 term; spacing + start.
    expect(xmlFormatScore('<reasoning> hmm')).toBeCloseTo(0.4, 12);
    // answer without reasoning, ending with </answer>: 0.4 x 1/2 + 0.2 + 0.2 (end).
    expect(xmlFormatScore('  <answer>x</answer>\n')).toBeCloseTo(0.6, 12);
    // text before the reasoning loses the start term.
    expect(xmlFormatScore('Sure! <reasoning>x</reasoning><answer>y</answer>')).toBeCloseTo(0.8, 12);
  });

  it('averages over assistant messages only', async () => {
    // (1.0 + 0.2) / 2 x 0.2 = 0.12; the user message is ignored.
    expect(await score(xmlFormatReward(), [assistant(TOOL), user(RESULT), assistant('just text')])).toBeCloseTo(
      0.12,
      12,
    );
  });
});

describe('XML tag usage reward', () => {
  it('gives 0.2 when every tag seen opens and closes once', async () => {
    expect(await score(xmlTagUsageReward(), ideal)).toBeCloseTo(0.2, 12);
  });

  it('gives 0 to a tag-free message', async () => {
    expect(xmlTagUsageScore('plain')).toBe(0);
    expect(await score(xmlTagUsageReward(), [assistant('plain')])).toBe(0);
  });

  it('penalises repeated and unclosed tags', () => {
    expect(xmlTagUsageScore('<reasoning>a</reasoning><reasoning>b</reasoning><answer>x</answer>')).toBeCloseTo(0.5, 12);
    expect(xmlTagUsageScore('<reasoning> hmm')).toBeCloseTo(0.5, 12);
    expect(xmlTagUsageScore('<tool><tool><tool>')).toBeCloseTo(-0.5, 12);
  });

  it('averages before flooring at 0', async () => {
    // (1 + -0.5) / 2 x 0.2 = 0.05 (flooring each message first would give 0.1).
    expect(
      await score(xmlTagUsageReward(), [assistant(TOOL), user(RESULT), assistant('<tool><tool><tool>')]),
    ).toBeCloseTo(0.05, 12);
    expect(await score(xmlTagUsageReward(), [assistant('<tool><tool><tool>')])).toBe(0);
  });
});

describe('paper rubric', () => {
  it('gives the ideal trajectory R^T = 0.7 on turn 0 and R^O = 1.9', async () => {
    const trajectory = trajectoryOf(ideal);
    await createPaperRubric<Row>().score(trajectory, row);
    expect(trajectory.turnRewards[0]).toBeCloseTo(0.7, 12);
    expect(trajectory.turnRewards[1]).toBe(0);
    expect(trajectory.outcomeReward).toBeCloseTo(1.9, 12);
    expect(trajectory.rewardComponents).toEqual({
      tool_execution: expect.closeTo(0.2, 12),
      search_answer: 0.5,
      answer_presence: 0.5,
      exact_match: 1,
      xml_format: expect.closeTo(0.2, 12),
      xml_tags: expect.closeTo(0.2, 12),
      reward_errors: 0,
    });
  });

  it('gives a tag-free single message R^T = 0 and R^O = 0.04 (GRPO-OR collapse value)', async () => {
    const trajectory = trajectoryOf([assistant('I believe it was the Beatles.')]);
    await createPaperRubric<Row>().score(trajectory, row);
    expect(trajectory.turnRewards).toEqual([0]);
    expect(trajectory.outcomeReward).toBeCloseTo(0.04, 12);
  });

  it('scores a Hermes-format episode with the format passed through and custom tag sets', async () => {
    const completion = [
      assistant('<tool_call>\n{"name": "wiki_search", "arguments": {"query": "Help!"}}\n</tool_call>'),
      user('<tool_response>\nHelp! by the Beatles\n</tool_response>'),
      assistant('<answer>Beatles</answer>'),
    ];
    const trajectory = trajectoryOf(completion);
    await createPaperRubric<Row>({ format: new HermesFormat(), xmlFields: [['tool_call', 'answer']] }).score(
      trajectory,
      row,
    );
    expect(trajectory.turnRewards[0]).toBeCloseTo(0.7, 12);
    // presence 0.5 + exact 1 + format 0.2 (one tag set, both first and last: start and end terms) + tags 0.2
    expect(trajectory.outcomeReward).toBeCloseTo(1.9, 12);
    expect(trajectory.rewardComponents['xml_format']).toBeCloseTo(0.2, 12);
  });

  it('reports a row without answers as a reward error, not a silent 0', async () => {
    const trajectory = trajectoryOf(ideal);
    await createPaperRubric<{ question: string }>().score(trajectory, { question: 'q' });
    expect(trajectory.rewardComponents['reward_errors']).toBe(3);
    expect(trajectory.errors[0]).toMatch(/reward 'search_answer' failed: the dataset row has no 'answers' array/);
  });
});
