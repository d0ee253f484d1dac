/**
 * A toy task for tests of the trainer with the bigram test backend: the paper's XML tool environment
 * with an `echo` tool, and a rubric a bigram policy can learn from in a few steps (a turn reward
 * for emitting `<` early, an outcome reward for the share of `a` characters in the last message).
 */
import { z } from 'zod';
import { defineTool } from '../env/tool.js';
import type { EnvFactory } from '../env/env.js';
import { ToolEnv } from '../env/tool-env.js';
import { defineReward } from '../rewards/reward-function.js';
import { Rubric } from '../rewards/rubric.js';
import { DataError } from '../errors.js';
import type { TrainingTask } from '../train/task.js';

/** A row of the toy task. */
export interface ToyRow {
  id: string;
  question: string;
  answers: string[];
  family: string;
}

/** The toy task with `count` rows per split. */
export function createToyTask(count = 6): TrainingTask<ToyRow> & { createEnv: EnvFactory<ToyRow> } {
  const echo = defineTool({
    name: 'echo',
    description: 'Echoes its text.',
    parameters: z.object({ text: z.string().describe('text to echo') }),
    execute: ({ text }) => text,
  });
  const splits: Record<string, ToyRow[]> = {};
  for (const split of ['train', 'dev', 'test']) {
    splits[split] = Array.from({ length: count }, (_, i) => ({
      id: `${split}-${i}`,
      question: `q${i}`,
      answers: ['a'],
      family: i % 2 === 0 ? 'even' : 'odd',
    }));
  }
  const lastAssistant = (completion: { role: string; content: string }[]) =>
    [...completion].reverse().find((message) => message.role === 'assistant')?.content ?? '';
  return {
    name: 'toy',
    rows(split) {
      const rows = splits[split];
      if (!rows) throw new DataError(`toy task has no split ${JSON.stringify(split)}; expected train, dev or test`);
      return rows;
    },
    rowId: (row) => row.id,
    answers: (row) => row.answers,
    family: (row) => row.family,
    createEnv: ToolEnv.factory<ToyRow>({ tools: [echo], maxToolCalls: 2 }),
    rubric: new Rubric<ToyRow>([
      defineReward({
        name: 'tool_execution',
        level: 'turn',
        score: ({ completion }) => (lastAssistant(completion.slice(0, 1)).includes('<') ? 0.2 : 0),
      }),
      defineReward({
        name: 'exact_match',
        level: 'outcome',
        score: ({ completion }) => {
          const text = lastAssistant(completion);
          return text.length === 0 ? 0 : [...text].filter((char) => char === 'a').length / text.length;
        },
      }),
    ]),
  };
}
