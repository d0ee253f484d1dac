import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HermesFormat } from '../env/hermes-format.js';
import { defineTool } from '../env/tool.js';
import { ToolEnv } from '../env/tool-env.js';
import { createPaperRubric } from '../rewards/paper-rubric.js';
import { scriptedRollout } from '../testing/scripted-rollout.js';
import type { TrajectoryGroup } from '../types.js';
import { checkCreditInvariants } from './credit-invariants.js';
import { inspectCredit, renderCreditTable } from './credit-report.js';
import { createMtGrpo } from './mt-grpo.js';
import { createMtGrpoK } from './mt-grpo-k.js';

const search = defineTool({
  name: 'wiki_search',
  description: 'Searches Wikipedia.',
  parameters: z.object({ query: z.string() }),
  execute: ({ query }) => `${query}: The Beatles recorded Help! in 1965.`,
});
const row = { question: 'Who sang Help!?', answers: ['the beatles'] };
const format = new HermesFormat();
const call = (name: string, query: string) =>
  `<tool_call>\n{"name": "${name}", "arguments": {"query": "${query}"}}\n</tool_call>`;
const ANSWER = '<answer>The Beatles</answer>';

/** A group of four Hermes episodes: two with a two-call first turn, one with one call, one without. */
async function group(): Promise<TrajectoryGroup> {
  const scripts = [
    [`${call('wiki_search', 'Help!')}\n${call('wiki_search', 'Beatles')}`, ANSWER],
    [call('wiki_search', 'Help!'), ANSWER],
    [`${call('wiki_search', 'Help!')}\n${call('google', 'x')}`, '<answer>Elvis</answer>'],
    ['<answer>Elvis</answer>'],
  ];
  const rubric = createPaperRubric<typeof row>({ format, xmlFields: [['tool_call', 'answer']] });
  const trajectories = [];
  for (const [index, replies] of scripts.entries()) {
    const trajectory = await scriptedRollout({
      env: new ToolEnv({ tools: [search], format }),
      row,
      replies,
      rubric,
      seed: index,
    });
    trajectories.push({ ...trajectory, groupIndex: index });
  }
  return { rowId: 'help', row, trajectories };
}

describe('a turn with several tool calls', () => {
  it(
    'is one turn for the rubric and for MT-GRPO: one reward, ' + 'one constant advantage, no credit on any result',
    async () => {
      const episodes = await group();
      const [twoCalls, oneCall, failedCall] = episodes.trajectories;
      expect(twoCalls!.turns).toHaveLength(2);
      expect(twoCalls!.turns[0]!.toolCalls).toHaveLength(2);
      expect(twoCalls!.turns[0]!.envMessages).toHaveLength(2);
      expect(failedCall!.turns[0]!.toolFailed).toBe(true);
      for (const trajectory of episodes.trajectories)
        expect(trajectory.turnRewards).toHaveLength(trajectory.turns.length);
      // The turn-level reward scores the two-call turn once, as it scores the one-call turn.
      expect(twoCalls!.turnRewards).toEqual(oneCall!.turnRewards);

      for (const estimator of [createMtGrpo(), createMtGrpoK()]) {
        const advantages_G_T = estimator.estimate(episodes);
        expect(checkCreditInvariants(episodes, advantages_G_T, { estimator })).toEqual([]);
        const first = twoCalls!.turns[0]!;
        const span = advantages_G_T[0]!.slice(first.sampled.start, first.sampled.end);
        expect(new Set(span).size).toBe(1);
        expect(span[0]).not.toBe(0);
        expect(advantages_G_T[0]!.slice(first.envSpan!.start, first.envSpan!.end).every((value) => value === 0)).toBe(
          true,
        );
      }
    },
  );

  it('shows each call in the credit table, with its results counted', async () => {
    const episodes = await group();
    const estimator = createMtGrpo();
    const credit = inspectCredit(episodes, estimator.estimate(episodes), { estimator });
    expect(credit.rollouts[0]!.turns[0]).toMatchObject({
      toolCalls: ['wiki_search', 'wiki_search'],
      reply: 'result',
      replyMessages: 2,
    });
    expect(credit.rollouts[2]!.turns[0]).toMatchObject({
      toolCalls: ['wiki_search'],
      reply: 'error-result',
      replyMessages: 2,
    });
    const lines = renderCreditTable(credit).split('\n');
    expect(lines.find((line) => line.includes('wiki_search,wiki_search'))).toMatch(
      /wiki_search,wiki_search\s+2 results\s/,
    );
    expect(lines.find((line) => line.includes('2 results (error)'))).toBeDefined();
    expect(lines).toContain('invariants: ok');
  });
});
