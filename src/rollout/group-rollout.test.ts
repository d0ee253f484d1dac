import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool } from '../env/tool.js';
import { ToolEnv } from '../env/tool-env.js';
import { Random } from '../random.js';
import { createPaperRubric } from '../rewards/paper-rubric.js';
import { ByteTokenizer } from '../testing/byte-tokenizer.js';
import { ScriptedPolicy, type ScriptCall } from './scripted-policy.js';
import { ChatTemplateRenderer } from './chat-template-renderer.js';
import { rolloutGroups } from './group-rollout.js';

const tokenizer = new ByteTokenizer();
type Row = { id: string; question: string; answers: string[] };
const rows: Row[] = [
  { id: 'q1', question: 'Who sang Help!?', answers: ['the beatles', 'beatles'] },
  { id: 'q2', question: 'Capital of France?', answers: ['paris'] },
  { id: 'q3', question: 'Largest planet?', answers: ['jupiter'] },
];
const search = defineTool({
  name: 'wiki_search',
  description: 'Searches Wikipedia.',
  parameters: z.object({ query: z.string() }),
  execute: async ({ query }) => `Article about ${query}: the beatles, paris, jupiter.`,
});

// Rollout i of a group: even ones search then answer correctly, odd ones answer wrongly at once.
function reply({ turn, sessionId, text }: ScriptCall): string {
  const index = Number(sessionId!.split('/').pop());
  const question = /Question: (.*)\n/.exec(text)![1]!;
  if (index % 2 === 1) return '<reasoning>guess</reasoning>\n<answer>Nobody</answer>';
  if (turn === 0)
    return `<reasoning>search</reasoning>\n<tool>{"name": "wiki_search", "args": {"query": "${question}"}}</tool>`;
  const answer = question.startsWith('Who') ? 'The Beatles' : question.startsWith('Capital') ? 'Paris' : 'Jupiter';
  return `<reasoning>read it</reasoning>\n<answer>${answer}</answer>`;
}

function run(seed: number, options: { concurrency?: number; delayMs?: number; coalescing?: boolean } = {}) {
  const policy = Object.assign(
    new ScriptedPolicy({ tokenizer, reply, ...(options.delayMs !== undefined && { delayMs: options.delayMs }) }),
    { coalescesConsecutiveSeeds: options.coalescing === true },
  );
  const groups = rolloutGroups<Row>({
    policy,
    env: ToolEnv.factory<Row>({ tools: [search] }),
    renderer: new ChatTemplateRenderer({ tokenizer }),
    rubric: createPaperRubric<Row>(),
    rows,
    groupSize: 4,
    random: new Random(seed),
    ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
  });
  return { policy, groups };
}

describe('rolloutGroups', () => {
  it('rolls out G per row, keeps row order and scores every trajectory with the rubric', async () => {
    const { groups, policy } = run(1);
    const result = await groups;
    expect(result.map((group) => group.rowId)).toEqual(['q1', 'q2', 'q3']);
    for (const group of result) {
      expect(group.trajectories.map((t) => t.groupIndex)).toEqual([0, 1, 2, 3]);
      const [searched, guessed] = group.trajectories;
      expect(searched!.turnRewards[0]).toBeCloseTo(0.7, 12);
      expect(searched!.outcomeReward).toBeCloseTo(1.9, 12);
      expect(guessed!.turnRewards).toEqual([0]);
      expect(guessed!.outcomeReward).toBeCloseTo(0.4, 12); // format 0.2 (x1 message) + tags 0.2
    }
    expect(new Set(policy.released).size).toBe(12);
  });

  it('keeps several groups in flight up to the concurrency bound', async () => {
    const wide = run(1, { concurrency: 8, delayMs: 5 });
    await wide.groups;
    expect(wide.policy.peakConcurrency).toBe(8);
    const narrow = run(1, { concurrency: 1, delayMs: 1 });
    await narrow.groups;
    expect(narrow.policy.peakConcurrency).toBe(1);
    const all = run(1, { delayMs: 5 });
    await all.groups;
    expect(all.policy.peakConcurrency).toBe(12); // default 4 x G covers all three groups at once
  });

  it('is deterministic for a seed, whatever the concurrency', async () => {
    const a = await run(42, { concurrency: 12, delayMs: 2 }).groups;
    const b = await run(42, { concurrency: 1 }).groups;
    const c = await run(43).groups;
    expect(a).toEqual(b);
    expect(a[0]!.trajectories[0]!.logprobs).not.toEqual(c[0]!.trajectories[0]!.logprobs);
  });

  it("keeps every rollout's own seeds for a policy that does not coalesce requests", async () => {
    const { policy, groups } = run(7);
    await groups;
    const random = new Random(7);
    const forks = [0, 1, 2, 3].map(() => random.fork());
    const first = [0, 1, 2, 3].map((g) => policy.requests.find((request) => request.sessionId === `q1/${g}`)?.seed);
    expect(first).toEqual(forks.map((fork) => fork.nextUint32()));
  });

  it(
    'seeds the first turn of a group consecutively for a coalescing policy ' +
      '(one shared prompt, one remote request) and keeps every later seed',
    async () => {
      const { policy, groups } = run(7, { coalescing: true });
      await groups;
      const seeds = (turn: number, row: string) =>
        [0, 1, 2, 3].map((g) => policy.requests.filter((request) => request.sessionId === `${row}/${g}`)[turn]?.seed);
      for (const row of ['q1', 'q2', 'q3']) {
        const first = seeds(0, row) as number[];
        expect(first.map((seed) => seed - first[0]!)).toEqual([0, 1, 2, 3]);
      }
      // Rollout 0's first seed is its own first draw; later turns
      // draw as before (the first draw is made and set aside).
      const random = new Random(7);
      const forks = [0, 1, 2, 3].map(() => random.fork());
      expect(seeds(0, 'q1')[0]).toBe(forks[0]!.nextUint32());
      forks[2]!.nextUint32();
      expect(seeds(1, 'q1')[2]).toBe(forks[2]!.nextUint32());
    },
  );

  it('accepts one shared renderer instance: each rollout forks it, so concurrent conversations never mix', async () => {
    // A template whose replies depend on the conversation (they quote its question), so a renderer
    // shared without forking would write another rollout's question into this one's tokens.
    const template =
      "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' }}" +
      "{%- if loop.index0 > 1 and message.role == 'user' %}{{- '[re: ' + messages[1].content + ']' }}{%- endif %}" +
      "{{- message.content + '<|im_end|>\\n' }}{%- endfor %}" +
      "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
    const shared = new ChatTemplateRenderer({ tokenizer, template });
    const policy = new ScriptedPolicy({ tokenizer, reply, delayMs: 2 });
    const groups = await rolloutGroups<Row>({
      policy,
      env: ToolEnv.factory<Row>({ tools: [search] }),
      renderer: shared,
      rubric: createPaperRubric<Row>(),
      rows,
      groupSize: 4,
      random: new Random(1),
    });
    expect(groups.flatMap((group) => group.trajectories.map((t) => t.stopReason))).toEqual(
      new Array(12).fill('answered'),
    );
    expect(groups[0]!.trajectories[0]!.outcomeReward).toBeCloseTo(1.9, 12);
    for (const group of groups) {
      const text = tokenizer.decode(group.trajectories[0]!.tokens);
      expect(text).toContain(`[re: Question: ${group.row.question}\n]<result>`);
    }
  });

  it('rejects duplicate row ids and a bad group size', async () => {
    const base = {
      policy: new ScriptedPolicy({ tokenizer, reply }),
      env: ToolEnv.factory<Row>({ tools: [search] }),
      renderer: new ChatTemplateRenderer({ tokenizer }),
      random: new Random(1),
    };
    await expect(rolloutGroups({ ...base, rows: [rows[0]!, rows[0]!], groupSize: 2 })).rejects.toThrow(
      /row ids must be unique/,
    );
    await expect(rolloutGroups({ ...base, rows, groupSize: 0 })).rejects.toThrow(
      /groupSize must be a positive integer/,
    );
  });
});
