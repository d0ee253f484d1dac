/**
 * Writes small synthetic run directories (config, metrics, trajectories, evaluation) in the exact
 * formats the trainer writes, for tests of the report and for checking the page in a browser
 * without training anything. The curves follow the paper's shapes so a glance shows a wrong panel.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Random } from '../random.js';
import type { EvalResult } from '../train/eval-result.js';

/** Shape of one synthetic method's curves: tool-execution trend and exact-match ceiling. */
const SHAPES: Record<string, { tool: (x: number) => number; exact: (x: number) => number }> = {
  'mt-grpo': { tool: () => 0.19, exact: (x) => 0.1 + 0.4 * x },
  'grpo-mr': { tool: (x) => 0.15 + 0.04 * Math.sin(8 * x), exact: (x) => 0.1 + 0.25 * x },
  'grpo-or': { tool: (x) => 0.12 * (1 - x), exact: (x) => 0.08 * (1 - x) },
};

/** Writes one synthetic run of `method` with `steps` steps into `dir`. */
export function writeSyntheticRun(dir: string, method: string, seed: number, steps: number): void {
  const random = new Random(seed * 1000 + method.length);
  const shape = SHAPES[method] ?? SHAPES['mt-grpo']!;
  mkdirSync(join(dir, 'eval'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ name: method, seed, advantage: { kind: method } }));
  const lines: string[] = [];
  for (let step = 1; step <= steps; step++) {
    const x = step / steps;
    const noise = () => (random.next() - 0.5) * 0.03;
    const tool = Math.max(0, shape.tool(x) + noise());
    lines.push(
      JSON.stringify({
        step,
        elapsed: step * 2,
        'reward/tool_execution': tool,
        'reward/search_answer_presence': Math.max(0, tool * 2 + noise()),
        'reward/xml_tag_usage': 0.15 + noise(),
        'reward/xml_format': 0.16 + noise(),
        'reward/answer_presence': Math.max(0, shape.exact(x) / 2 + noise()),
        'reward/exact_match': Math.max(0, shape.exact(x) + noise()),
      }),
    );
  }
  writeFileSync(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  const trajectory = {
    step: steps,
    rowId: 'q-17',
    groupIndex: 0,
    question: 'What is the capital of France?',
    answers: ['Paris'],
    messages: [
      { role: 'system', content: 'You have access to wiki_search.' },
      { role: 'user', content: 'Question: What is the capital of France?\n' },
      {
        role: 'assistant',
        content:
          '<reasoning>Search it.</reasoning>\n' +
          '<tool>{"name": "wiki_search", "args": {"query": "France capital"}}</tool>',
      },
      { role: 'user', content: '<result>\nFrance ... capital: Paris <b>\n</result>' },
      { role: 'assistant', content: '<reasoning>The result says Paris.</reasoning>\n<answer>Paris</answer>' },
    ],
    turnRewards: [0.7, 0],
    outcomeReward: 1.9,
    rewardComponents: { tool_execution: 0.2, exact_match: 1 },
    turnAdvantages: [1.8, -0.4],
    stopReason: 'answered',
    errors: [],
  };
  writeFileSync(join(dir, 'trajectories.jsonl'), `${JSON.stringify(trajectory)}\n`);
  const final = (f: (x: number) => number) => Math.max(0, f(1) + (random.next() - 0.5) * 0.02);
  const result: EvalResult = {
    split: 'test',
    mode: 'sampled',
    checkpoint: join(dir, 'checkpoints', 'final'),
    questions: 100,
    rollouts: 100,
    metrics: {
      tool_execution: final(shape.tool),
      search_answer_presence: final(shape.tool) * 2,
      xml_format: 0.18,
      exact_match: final(shape.exact),
      exact_match_normalized: final(shape.exact) + 0.02,
    },
    byFamily: {},
    wallSeconds: 3,
  };
  writeFileSync(join(dir, 'eval', 'test-sampled.json'), JSON.stringify(result));
}
