/**
 * The fuzz of model outputs (issue 15): random and adversarial assistant messages through both
 * message formats (the paper's XML, and Hermes with one or several calls a turn), into tools that
 * throw anything, hang, or return nothing. Every message is stepped through `ToolEnv` and scored by
 * the paper's rubric (rewards that throw are counted, not recorded); the shorter ones are also played
 * as whole rollouts, and streamed through the server's tool-call parser. An escape is anything thrown
 * out of these; a hang is a step that has not settled 5 s after it began (the tools' timeout is
 * 20 ms). Parsing work is counted by a ScanMeter and bounded by the message's length.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ToolCallParser } from './backends/server/tool-call-parser.js';
import { HermesFormat } from './env/hermes-format.js';
import type { MessageFormat } from './env/message-format.js';
import { defineTool, type Tool } from './env/tool.js';
import { ToolEnv } from './env/tool-env.js';
import { XmlFormat } from './env/xml-format.js';
import { countOccurrences, parseTag, parseTags } from './env/xml-tags.js';
import { Random } from './random.js';
import { createPaperRubric } from './rewards/paper-rubric.js';
import { ChatTemplateRenderer } from './rollout/chat-template-renderer.js';
import { runRollout } from './rollout/rollout.js';
import { ScriptedPolicy } from './rollout/scripted-policy.js';
import { ByteTokenizer } from './testing/byte-tokenizer.js';
import type { Message } from './types.js';

const HANG_MS = 5_000;
const row = { question: 'Who sang Help!?', answers: ['the beatles'] };

const trap = () => {
  throw new Error('trap');
};
const { proxy: revoked, revoke } = Proxy.revocable({}, {});
revoke();
/** What the throwing tool throws, by its `kind` argument. */
const THROWN: (() => unknown)[] = [
  () => new Error('disk on fire'),
  () => ({ toString: trap }),
  () => null,
  () => undefined,
  () => Symbol('boom'),
  () => new Proxy({}, { get: trap, getPrototypeOf: trap }),
  () => revoked,
  () => Object.defineProperty(new Error(), 'message', { get: trap }),
];
/** What the returning tool returns, by its `kind` argument. */
const RETURNED: (() => unknown)[] = [
  () => undefined,
  () => null,
  () => '',
  () => '   \n',
  () => Symbol('s'),
  () => ({ toString: () => Symbol('not text') }),
  () => Promise.reject({ toString: trap }),
  () => 42,
];
const kindArgument = z.object({ kind: z.number().int().optional() });
const TOOLS: Tool[] = [
  defineTool({
    name: 'wiki_search',
    description: 'Searches.',
    parameters: z.object({ query: z.string() }),
    execute: ({ query }) => `Result for ${query}`,
  }),
  defineTool({
    name: 'thrower',
    description: 'Throws.',
    parameters: kindArgument,
    execute: ({ kind }) => {
      throw THROWN[Math.abs(kind ?? 0) % THROWN.length]!();
    },
  }),
  defineTool({
    name: 'nothing',
    description: 'Returns nothing.',
    parameters: kindArgument,
    execute: ({ kind }) => RETURNED[Math.abs(kind ?? 0) % RETURNED.length]!() as string,
  }),
  defineTool({
    name: 'hanger',
    description: 'Never answers.',
    parameters: z.object({}),
    execute: () => new Promise<string>(() => {}),
  }),
];

const FORMATS: [string, () => MessageFormat][] = [
  ['xml', () => new XmlFormat()],
  ['hermes', () => new HermesFormat()],
  ['hermes-single', () => new HermesFormat({ parallelToolCalls: false })],
];

/** Pieces of model output: tags of both formats, broken tags, calls of every tool, JSON noise, odd text. */
function pieces(random: Random): string[] {
  const name = ['wiki_search', 'thrower', 'nothing', 'hanger', 'rm', '', '"x"'][random.int(7)]!;
  const kind = random.int(16) - 4;
  const args = [`{"kind": ${kind}}`, '{"query": "Paris"}', 'null', '[1]', '"s"', '{}', '{"query": 5}'][random.int(7)]!;
  return [
    '<tool>',
    '</tool>',
    '<answer>',
    '</answer>',
    '<tool_call>',
    '</tool_call>',
    '<reasoning>',
    '</reasoning>',
    '<result>',
    '<tool_response>',
    '<tool',
    '</tool_ca',
    '<',
    '>',
    ' ',
    '\n ',
    '\t',
    '\u2028',
    '\u00a0',
    '\ud800',
    '\0',
    'The Beatles',
    `{"name": "${name}", "args": ${args}}`,
    `{"name": "${name}", "arguments": ${args}}`,
    `{"name": "${name}", "arguments": ${JSON.stringify(args)}}`,
    '{"name": ',
    '{{{{',
    ']]]',
    '"\\u0000"',
    '{"__proto__": {"name": "thrower"}}',
    `{"name": "${name}", "args": {"kind": ${kind}, "extra": true}}`,
  ];
}

function noise(random: Random, count: number): string {
  const choices = pieces(random);
  let text = '';
  for (let left = random.int(count); left > 0; left--) text += choices[random.int(choices.length)]!;
  return text;
}

/** Random pieces, or (half the time) one or more well-formed calls of a random tool among noise. */
function randomMessage(random: Random): string {
  if (random.int(2) === 0) return noise(random, 24);
  let text = noise(random, 4);
  for (let calls = 1 + random.int(3); calls > 0; calls--) {
    const call = pieces(random)[22 + random.int(3)]!;
    text += random.int(2) === 0 ? `<tool>\n${call}\n</tool>` : `<tool_call>\n${call}\n</tool_call>`;
    text += noise(random, 3);
  }
  return text;
}

/** Long inputs made to make a backtracking parser or a rescanning one stall. */
function adversarialMessages(): string[] {
  const n = 100_000;
  return [
    `<tool>${' '.repeat(n)}`,
    `<answer>${'\n '.repeat(n / 2)}`,
    `<tool_call>${'\n '.repeat(n / 2)}`,
    `<reasoning>${' '.repeat(n)}</reasoning><tool>${'\t'.repeat(n)}`,
    '<tool>'.repeat(n / 6),
    '</tool_call>'.repeat(n / 12),
    '<tool_call>{"name": "wiki_search", "arguments": {"query": "q"}}</tool_call>'.repeat(n / 80),
    `<tool>{"name": "wiki_search", "args": {"query": "${'a'.repeat(n)}"}}</tool>`,
    `<tool>${'['.repeat(n)}</tool>`,
    `<tool_call>${'{"a":'.repeat(n / 5)}</tool_call>`,
    `${'<answer'.repeat(n / 7)}>`,
    '\u2028'.repeat(n),
  ];
}

interface Tally {
  inputs: number;
  escapes: string[];
  hangs: number;
  maxStepsPerChar: number;
}

/** Settles `work`, or reports a hang after HANG_MS; an escape is anything it throws. */
async function guarded(tally: Tally, what: string, work: () => Promise<unknown>): Promise<void> {
  tally.inputs++;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), HANG_MS);
  });
  try {
    if ((await Promise.race([work(), hang])) === 'hang') tally.hangs++;
  } catch (error) {
    tally.escapes.push(`${what}: ${String(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** One message through a fresh env of `format`, then the rubric over what the env answered. */
async function stepAndScore(makeFormat: () => MessageFormat, content: string): Promise<void> {
  const format = makeFormat();
  const env = new ToolEnv({ tools: TOOLS, format, toolTimeoutMs: 20 });
  env.reset(row);
  const assistant: Message = { role: 'assistant', content };
  const step = await env.step(assistant);
  const replies = step.replies ?? (step.reply ? [step.reply] : []);
  for (const reply of replies) if (typeof reply.content !== 'string') throw new Error('a reply without text');
  const rubric = createPaperRubric({ format, onError: 'throw' });
  const context = { trajectory: { turns: [] } as never, row, completion: [assistant, ...replies] };
  for (const reward of rubric.functions) {
    const value = await reward.score(context);
    if (typeof value !== 'number' || Number.isNaN(value)) throw new Error(`${reward.name} gave ${String(value)}`);
  }
}

/** The parsers' work on `content`, per character (every tag of both formats). */
function parseWork(content: string): number {
  const meter = { steps: 0 };
  for (const tag of ['tool', 'answer', 'tool_call', 'reasoning', 'result', 'tool_response']) {
    parseTag(content, tag, true, meter);
    parseTags(content, tag, true, meter);
    countOccurrences(content, `<${tag}>`, meter);
  }
  const parser = new ToolCallParser(new Set(TOOLS.map((tool) => tool.name)), Infinity, meter);
  for (let at = 0; at < content.length; at += 7) parser.push(content.slice(at, at + 7));
  parser.finish();
  return meter.steps / Math.max(1, content.length);
}

/** A whole rollout of `turns` (then `<answer>x</answer>`) through the tools in `format`. */
const tokenizer = new ByteTokenizer();
function playRollout(format: MessageFormat, turns: string[], maxToolCalls?: number) {
  return runRollout({
    policy: new ScriptedPolicy({ tokenizer, reply: ({ turn }) => turns[turn] ?? '<answer>x</answer>' }),
    env: new ToolEnv({ tools: TOOLS, format, toolTimeoutMs: 20, maxToolCalls }),
    renderer: new ChatTemplateRenderer({ tokenizer }),
    row,
    rowId: 'q',
    groupIndex: 0,
    random: new Random(7),
    tokenBudget: 1 << 16,
  });
}

describe('model outputs that once escaped', () => {
  it('a turn ended by <|endoftext|> (ChatML closes turns with <|im_end|>) is followed by more turns', async () => {
    // Seen in `experiment paper` (GRPO-OR, seed 1, step 139): the next turn's render lost the sampled
    // token and the renderer refused the template, stopping the whole run.
    // (A turn ending in a stop string such as </tool> stops there; these end on the token.)
    const turns = ['no tags<|endoftext|>', '<reasoning>none</reasoning><|endoftext|>', '<answer>the beatles</answer>'];
    const format = new XmlFormat();
    const trajectory = await playRollout(format, turns, 3);
    expect(trajectory.turns).toHaveLength(3);
    expect(trajectory.stopReason).toBe('answered');
    expect(trajectory.errors).toEqual([]);
    const scored = await createPaperRubric({ format, onError: 'throw' }).score(trajectory, row);
    expect(scored.outcomeReward).toBeGreaterThan(1); // exact match 1 plus the format rewards
  });
});

describe('fuzz of model outputs', () => {
  it('lets nothing escape or hang, with parsing work linear in the message', async () => {
    const random = new Random(1515);
    const tally: Tally = { inputs: 0, escapes: [], hangs: 0, maxStepsPerChar: 0 };
    const messages = [...adversarialMessages(), ...Array.from({ length: 2000 }, () => randomMessage(random))];
    // In batches, so the hanging tool's timeouts overlap.
    for (let start = 0; start < messages.length; start += 100) {
      const batch = messages.slice(start, start + 100);
      const work: Promise<void>[] = [];
      for (const content of batch) {
        tally.maxStepsPerChar = Math.max(tally.maxStepsPerChar, parseWork(content));
        for (const [name, makeFormat] of FORMATS) {
          work.push(guarded(tally, `${name} step`, () => stepAndScore(makeFormat, content)));
          if (content.length > 4_000) continue;
          // Turns ended by either end token (the policy may close a turn with <|endoftext|>, which
          // ChatML does not write), or by neither.
          const ends = ['', '<|endoftext|>', '<|im_end|>'];
          const turns = [content + ends[random.int(3)]!, randomMessage(random) + ends[random.int(3)]!, content];
          work.push(
            guarded(tally, `${name} rollout`, async () => {
              const format = makeFormat();
              const trajectory = await playRollout(format, turns);
              await createPaperRubric({ format, onError: 'throw' }).score(trajectory, row);
            }),
          );
        }
      }
      await Promise.all(work);
    }
    console.log(
      `fuzz of model outputs: ${tally.inputs} inputs tried (${messages.length} messages x ${FORMATS.length} ` +
        `formats, steps and rollouts), ${tally.escapes.length} escapes, ${tally.hangs} hangs, ` +
        `at most ${tally.maxStepsPerChar.toFixed(2)} parse steps a character`,
    );
    expect(tally.escapes).toEqual([]);
    expect(tally.hangs).toBe(0);
    // 6 tags x 3 scans (each at most 2 steps a character) + the streaming parser's 2 + 12/7.
    expect(tally.maxStepsPerChar).toBeLessThanOrEqual(6 * 3 * 2 + 4);
  }, 120_000);
});
