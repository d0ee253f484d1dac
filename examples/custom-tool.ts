// A custom tool and reward, a group of scripted rollouts, and the MT-GRPO credit each turn receives.
import { z } from 'zod';
import {
  ChatTemplateRenderer,
  Random,
  Rubric,
  ToolEnv,
  createMtGrpo,
  defineReward,
  defineTool,
  inspectCredit,
  renderCreditTable,
  rolloutGroups,
  xmlFormatReward,
} from 'turnwise';
import { ByteTokenizer, ScriptedPolicy } from 'turnwise/testing';

const calculator = defineTool({
  name: 'calculator',
  description: 'Adds two numbers.',
  parameters: z.object({ a: z.number().describe('first term'), b: z.number().describe('second term') }),
  execute: ({ a, b }) => String(a + b),
});
const toolWorked = defineReward({
  name: 'tool_worked',
  level: 'turn',
  score: ({ trajectory }) => (trajectory.turns[0]?.isToolResult && !trajectory.turns[0].toolFailed ? 0.5 : 0),
});
const correct = defineReward<{ answer: string }>({
  name: 'correct',
  level: 'outcome',
  score: ({ trajectory, row }) =>
    trajectory.turns.at(-1)!.assistant.content.includes(`<answer>${row.answer}</answer>`) ? 1 : 0,
});

const tokenizer = new ByteTokenizer();
const call = '<reasoning>add</reasoning>\n<tool>{"name": "calculator", "args": {"a": 19, "b": 23}}</tool>';
const policy = new ScriptedPolicy({
  tokenizer,
  rollouts: [
    // rollout i plays script i
    [call, '<reasoning>the tool says 42</reasoning>\n<answer>42</answer>'],
    ['<reasoning>no tool needed</reasoning>\n<answer>41</answer>'],
    [call.replace('19', '"19"'), '<reasoning>the tool failed</reasoning>\n<answer>42</answer>'],
    [call, '<reasoning>I ignore the tool</reasoning>\n<answer>40</answer>'],
  ],
});
const [group] = await rolloutGroups({
  policy,
  rows: [{ id: 'sum', question: 'What is 19 + 23?', answer: '42' }],
  groupSize: 4,
  random: new Random(0),
  env: ToolEnv.factory({ tools: [calculator] }),
  renderer: new ChatTemplateRenderer({ tokenizer }),
  rubric: new Rubric([toolWorked, correct, xmlFormatReward()]),
});
const estimator = createMtGrpo();
console.log(renderCreditTable(inspectCredit(group!, estimator.estimate(group!), { estimator })));
