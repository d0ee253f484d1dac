// A task of a user's own, as `turnwise train --task src/cli/__fixtures__/sum-task.ts` loads it: add
// two numbers with a calculator tool. Its config section (task.*) has its own schema, and it builds
// its own tiny base for the local engine (a BPE tokenizer over its texts and a fresh model), so the
// CLI can train, resume, evaluate and inspect it with nothing else. A real module would import from
// 'turnwise'; this fixture imports the sources directly.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { createLocalBackend } from '../../backends/create-local-backend.js';
import { defineTool } from '../../env/tool.js';
import { ToolEnv } from '../../env/tool-env.js';
import { DataError } from '../../errors.js';
import { trainBpe } from '../../engine/tokenizer/bpe-trainer.js';
import { writeTokenizerFiles } from '../../engine/tokenizer/tokenizer-files.js';
import { defineReward } from '../../rewards/reward-function.js';
import { Rubric } from '../../rewards/rubric.js';
import type { TaskDefinition } from '../../train/task.js';

interface SumRow {
  id: string;
  question: string;
  answer: string;
}

const configSchema = z.strictObject({
  name: z.literal('sum').default('sum'),
  count: z.number().int().min(2).default(8).describe('questions per split; default 8'),
  baseDir: z.string().min(1).describe('where the task builds its tiny base model'),
});

const sectionOf = (task: unknown) => configSchema.parse(task);

const task: TaskDefinition<SumRow> = {
  name: 'sum',
  summary: 'add two numbers with a calculator tool',
  configSchema,
  async open(config) {
    const { count } = sectionOf(config.task);
    const rows = (split: string): SumRow[] =>
      Array.from({ length: count }, (_, i) => ({
        id: `${split}-${i}`,
        question: `What is ${i} + ${split.length}?`,
        answer: String(i + split.length),
      }));
    const splits: Record<string, SumRow[]> = { train: rows('train'), dev: rows('dev'), test: rows('test') };
    const calculator = defineTool({
      name: 'calculator',
      description: 'Adds two numbers.',
      parameters: z.object({ a: z.number(), b: z.number() }),
      execute: ({ a, b }) => String(a + b),
    });
    return {
      name: 'sum',
      rows(split) {
        const found = splits[split];
        if (!found) throw new DataError(`sum task has no split ${JSON.stringify(split)}`);
        return found;
      },
      rowId: (row) => row.id,
      answers: (row) => [row.answer],
      progressFields: [{ label: 'EM', key: 'reward/exact_match' }],
      createEnv: ToolEnv.factory<SumRow>({
        tools: [calculator],
        systemPrompt: 'Add with the calculator tool, then answer in <answer>.',
      }),
      rubric: new Rubric<SumRow>([
        defineReward({
          name: 'tool_execution',
          level: 'turn',
          score: ({ trajectory }) => (trajectory.turns[0]?.isToolResult && !trajectory.turns[0].toolFailed ? 0.2 : 0),
        }),
        defineReward<SumRow>({
          name: 'exact_match',
          level: 'outcome',
          score: ({ trajectory, row }) =>
            trajectory.turns.at(-1)?.assistant.content.includes(`<answer>${row.answer}</answer>`) ? 1 : 0,
        }),
      ]),
    };
  },
  async localBase(config) {
    const root = resolve(sectionOf(config.task).baseDir);
    const checkpoint = join(root, 'base');
    if (!existsSync(join(checkpoint, 'model.safetensors'))) {
      const texts = [
        'What is 1 + 2?',
        '<reasoning>add</reasoning>',
        '<tool>{"name": "calculator", "args": {"a": 1, "b": 2}}</tool>',
        '<answer>3</answer>',
      ];
      await writeTokenizerFiles(join(root, 'tokenizer'), trainBpe(texts, { vocabSize: 300 }));
      const backend = await createLocalBackend({
        tokenizerDir: join(root, 'tokenizer'),
        checkpointDirectory: root,
        modelConfig: {
          model_type: 'llama',
          hidden_size: 32,
          num_hidden_layers: 1,
          num_attention_heads: 2,
          num_key_value_heads: 2,
          intermediate_size: 64,
          vocab_size: 300,
          max_position_embeddings: 1024,
          tie_word_embeddings: true,
        },
        seed: 3,
      });
      await backend.save('base');
      await backend.close();
    }
    return { checkpoint, label: `sum base ${checkpoint}` };
  },
};

export default task;
