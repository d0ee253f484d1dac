import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HermesFormat } from '../env/hermes-format.js';
import { NO_TOOL_CALL_ERROR } from '../env/message-format.js';
import { defineTool } from '../env/tool.js';
import { ToolEnv, type ToolEnvOptions } from '../env/tool-env.js';
import { Random } from '../random.js';
import { ByteTokenizer } from '../testing/byte-tokenizer.js';
import { ScriptedPolicy, type ScriptedPolicyOptions } from './scripted-policy.js';
import type { Trajectory } from '../types.js';
import { ChatTemplateRenderer } from './chat-template-renderer.js';
import type { Policy } from './policy.js';
import { runRollout } from './rollout.js';

const tokenizer = new ByteTokenizer();
const row = { question: 'Who sang Help!?', answers: ['the beatles'] };

const search = defineTool({
  name: 'wiki_search',
  description: 'Searches Wikipedia.',
  parameters: z.object({ query: z.string() }),
  execute: ({ query }) => (query === 'long' ? 'x'.repeat(500) : `Help! is a song by the Beatles (${query}).`),
});
const crash = defineTool({
  name: 'crash',
  description: 'Throws.',
  parameters: z.object({}),
  execute: () => {
    throw new Error('segfault');
  },
});
const hang = defineTool({
  name: 'hang',
  description: 'Hangs.',
  parameters: z.object({}),
  timeoutMs: 10,
  execute: () => new Promise<string>(() => {}),
});

const TOOL = (query: string) =>
  `<reasoning>\nsearch\n</reasoning>\n<tool>\n{"name": "wiki_search", "args": {"query": "${query}"}}\n</tool>`;
const CALL = (name: string) => `<reasoning>\ntry\n</reasoning>\n<tool>\n{"name": "${name}", "args": {}}\n</tool>`;
const ANSWER = '<reasoning>\nfound it\n</reasoning>\n<answer>\nThe Beatles\n</answer>';

async function rollout(
  script: Partial<ScriptedPolicyOptions>,
  options: { env?: Partial<ToolEnvOptions>; tokenBudget?: number; seed?: number; policy?: Policy } = {},
) {
  const policy = options.policy ?? new ScriptedPolicy({ tokenizer, ...script });
  const trajectory = await runRollout({
    policy,
    env: new ToolEnv({ tools: [search, crash, hang], ...options.env }),
    renderer: new ChatTemplateRenderer({ tokenizer }),
    row,
    rowId: 'q1',
    groupIndex: 0,
    random: new Random(options.seed ?? 1),
    ...(options.tokenBudget !== undefined && { tokenBudget: options.tokenBudget }),
  });
  return { trajectory, policy: policy as ScriptedPolicy };
}

/** Every per-token array has length T; trainable is 1 exactly on the sampled spans. */
function checkLayout(trajectory: Trajectory): void {
  const T = trajectory.tokens.length;
  expect(trajectory.trainable).toHaveLength(T);
  expect(trajectory.logprobs).toHaveLength(T);
  const expected = new Array(T).fill(0);
  let cursor = trajectory.promptLength;
  for (const turn of trajectory.turns) {
    expect(turn.sampled.start).toBe(cursor);
    for (let t = turn.sampled.start; t < turn.sampled.end; t++) expected[t] = 1;
    cursor = turn.sampled.end;
    if (turn.envSpan) {
      expect(turn.envSpan.start).toBe(cursor);
      cursor = turn.envSpan.end;
    }
  }
  expect(cursor).toBe(T);
  expect(trajectory.trainable).toEqual(expected);
  const badLogprobs = trajectory.logprobs.filter((value, t) => (expected[t] === 1 ? !(value < 0) : value !== 0));
  expect(badLogprobs).toEqual([]);
}

describe('runRollout (the paper episode)', () => {
  it('records a two-turn episode with exact tokens, masks, logprobs and spans', async () => {
    const { trajectory, policy } = await rollout({ replies: [TOOL('Help!'), ANSWER] });
    checkLayout(trajectory);
    expect(trajectory.stopReason).toBe('answered');
    expect(trajectory.errors).toEqual([]);
    expect(trajectory.turns).toHaveLength(2);
    const [first, second] = trajectory.turns;
    expect(first!.assistant.content).toBe(TOOL('Help!'));
    expect(first!.toolCalls).toEqual([{ name: 'wiki_search', arguments: { query: 'Help!' } }]);
    expect(first!.env).toEqual({
      role: 'user',
      content: '<result>\nHelp! is a song by the Beatles (Help!).\n</result>',
    });
    expect(first!).toMatchObject({ isToolResult: true, toolFailed: false, truncated: false });
    expect(second!.env).toBeUndefined();
    expect(trajectory.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant']);

    // The env span holds <|im_end|> closing the assistant turn (stop strings end turns without EOS).
    expect(tokenizer.decode(trajectory.tokens.slice(first!.envSpan!.start, first!.envSpan!.end))).toBe(
      '<|im_end|>\n<|im_start|>user\n<result>\nHelp! is a song by the Beatles (Help!).\n' +
        '</result><|im_end|>\n<|im_start|>assistant\n',
    );
    // The token sequence is exactly the ChatML rendering of the conversation (prefix property end to end).
    const full = new ChatTemplateRenderer({ tokenizer }).renderPrompt(trajectory.messages);
    expect(tokenizer.decode(trajectory.tokens)).toBe(
      tokenizer.decode(full).slice(0, -'<|im_start|>assistant\n'.length - '<|im_end|>\n'.length),
    );

    expect(policy.requests.map((r) => r.sessionId)).toEqual(['q1/0', 'q1/0']);
    expect(policy.requests[1]!.tokens).toEqual(trajectory.tokens.slice(0, second!.sampled.start));
    expect(policy.requests[0]!.params).toMatchObject({
      temperature: 0.9,
      topK: 50,
      topP: 1,
      stop: ['</tool>', '</answer>'],
      maxTokens: 1024,
    });
    expect(policy.released).toEqual(['q1/0']);
  });

  it('answers malformed tags with the no-tool error (mask 0) and goes on', async () => {
    const { trajectory } = await rollout({
      replies: ['<reasoning>hmm</reasoning> <tool>{"name": "wiki_search"', TOOL('Help!'), ANSWER],
    });
    checkLayout(trajectory);
    expect(trajectory.turns[0]!.env).toEqual({ role: 'user', content: NO_TOOL_CALL_ERROR });
    expect(trajectory.turns[0]!.isToolResult).toBe(false);
    expect(trajectory.turns[0]!.assistant.content).toBe('<reasoning>hmm</reasoning> <tool>{"name": "wiki_search"');
    expect(trajectory.stopReason).toBe('answered');
    expect(trajectory.turns).toHaveLength(3);
  });

  it('returns bad JSON, unknown tools and bad arguments inside <result> and goes on', async () => {
    const { trajectory } = await rollout(
      { replies: [CALL('nope').replace('{"name": "nope", "args": {}}', '{bad json'), ANSWER] },
      { env: { maxToolCalls: 3 } },
    );
    expect(trajectory.turns[0]!.env!.content).toBe('<result>\nError: Invalid JSON format\n</result>');
    expect(trajectory.turns[0]!.toolFailed).toBe(true);
    const unknown = await rollout({ replies: [CALL('google'), ANSWER] });
    expect(unknown.trajectory.turns[0]!.env!.content).toBe("<result>\nError: Unknown tool 'google'\n</result>");
    const badArgs = await rollout({ replies: [CALL('wiki_search'), ANSWER] });
    expect(badArgs.trajectory.turns[0]!.env!.content).toMatch(
      /^<result>\nError: Invalid arguments for 'wiki_search': query: /,
    );
    expect(badArgs.trajectory.stopReason).toBe('answered');
  });

  it('ends on the second tool call without executing it', async () => {
    const { trajectory } = await rollout({ replies: [TOOL('first'), TOOL('second'), ANSWER] });
    checkLayout(trajectory);
    expect(trajectory.stopReason).toBe('max_tool_calls');
    expect(trajectory.turns).toHaveLength(2);
    expect(trajectory.turns[1]!.env).toBeUndefined();
    expect(trajectory.turns[1]!.toolCalls).toEqual([{ name: 'wiki_search', arguments: { query: 'second' } }]);
  });

  it('turns a throwing tool and a timing-out tool into Error: results and goes on', async () => {
    const crashed = await rollout({ replies: [CALL('crash'), ANSWER] });
    expect(crashed.trajectory.turns[0]!.env!.content).toBe('<result>\nError: segfault\n</result>');
    expect(crashed.trajectory.stopReason).toBe('answered');
    const hung = await rollout({ replies: [CALL('hang'), ANSWER] });
    expect(hung.trajectory.turns[0]!.env!.content).toBe(
      "<result>\nError: Tool 'hang' timed out after 10 ms\n</result>",
    );
    expect(hung.trajectory.stopReason).toBe('answered');
  });
});

describe('runRollout token budget (all completion tokens, tool output included)', () => {
  it('caps each turn at what is left and stops when the budget is spent', async () => {
    const { trajectory, policy } = await rollout({ replies: [TOOL('Help!'), 'a'.repeat(400)] }, { tokenBudget: 300 });
    checkLayout(trajectory);
    const completion = trajectory.tokens.length - trajectory.promptLength;
    expect(completion).toBe(300);
    expect(trajectory.stopReason).toBe('token_budget');
    const firstLength = trajectory.turns[0]!.envSpan!.end - trajectory.promptLength;
    expect(policy.requests[1]!.params.maxTokens).toBe(300 - firstLength);
    expect(trajectory.turns[1]!.truncated).toBe(true);
  });

  it("ends at the policy's context as at its budget, when the context leaves less than the budget", async () => {
    const inner = new ScriptedPolicy({ tokenizer, replies: [TOOL('Help!'), 'a'.repeat(400)] });
    const promptLength = (await rollout({ replies: [ANSWER] })).trajectory.promptLength;
    const bounded: Policy = {
      tokenizer,
      maxSequenceLength: promptLength + 300,
      sample: (request) => inner.sample(request),
    };
    const { trajectory } = await rollout({}, { tokenBudget: 1000, policy: bounded });
    checkLayout(trajectory);
    expect(trajectory.tokens.length).toBe(promptLength + 300);
    expect(trajectory.stopReason).toBe('token_budget');
    const firstLength = trajectory.turns[0]!.envSpan!.end - promptLength;
    expect(inner.requests[1]!.params.maxTokens).toBe(300 - firstLength);
    expect(trajectory.errors).toEqual([]);
  });

  it('a prompt that fills the whole context is an error rollout, sampled never', async () => {
    const inner = new ScriptedPolicy({ tokenizer, replies: [ANSWER] });
    const bounded: Policy = { tokenizer, maxSequenceLength: 10, sample: (request) => inner.sample(request) };
    const { trajectory } = await rollout({}, { policy: bounded });
    expect(trajectory.stopReason).toBe('error');
    expect(trajectory.turns).toHaveLength(0);
    expect(inner.requests).toHaveLength(0);
    expect(trajectory.errors[0]).toMatch(
      /^the prompt's \d+ tokens leave no room in the policy's context of 10 tokens$/,
    );
  });

  it('cuts an environment reply that overflows the budget and keeps the message whole', async () => {
    const { trajectory, policy } = await rollout({ replies: [TOOL('long'), ANSWER] }, { tokenBudget: 200 });
    checkLayout(trajectory);
    expect(trajectory.tokens.length - trajectory.promptLength).toBe(200);
    expect(trajectory.stopReason).toBe('token_budget');
    expect(trajectory.turns).toHaveLength(1);
    expect(trajectory.turns[0]!.env!.content).toBe(`<result>\n${'x'.repeat(500)}\n</result>`);
    expect(trajectory.turns[0]!.isToolResult).toBe(true);
    expect(policy.requests).toHaveLength(1);
  });

  it('does not run a tool called by the turn that spent the budget', async () => {
    const tool = TOOL('Help!');
    const exact = tokenizer.encode(tool).length;
    const { trajectory } = await rollout({ replies: [tool] }, { tokenBudget: exact });
    expect(trajectory.stopReason).toBe('token_budget');
    expect(trajectory.turns[0]!.env).toBeUndefined();
    expect(trajectory.tokens.length - trajectory.promptLength).toBe(exact);
  });
});

describe('runRollout failures and formats', () => {
  it('records a policy failure as an error stop and still releases the session', async () => {
    const { trajectory, policy } = await rollout({ replies: [TOOL('Help!')] });
    expect(trajectory.stopReason).toBe('error');
    expect(trajectory.errors[0]).toMatch(
      /^policy.sample failed on turn 1: ScriptedPolicy: session q1\/0 asked for turn 1/,
    );
    expect(trajectory.turns).toHaveLength(1);
    expect(policy.released).toEqual(['q1/0']);
    checkLayout(trajectory);
  });

  it('records a policy that returns mismatched logprobs as an error', async () => {
    const inner = new ScriptedPolicy({ tokenizer, replies: [ANSWER] });
    const broken: Policy = {
      tokenizer,
      sample: async (request) => ({ ...(await inner.sample(request)), logprobs: [-1] }),
    };
    const { trajectory } = await rollout({}, { policy: broken });
    expect(trajectory.stopReason).toBe('error');
    expect(trajectory.errors[0]).toMatch(/returned \d+ tokens but 1 logprobs/);
    expect(trajectory.tokens).toHaveLength(trajectory.promptLength);
  });

  it('reads a logprob a rounding above 0 as 0, and refuses one that is really positive', async () => {
    // A float32 log-softmax put a token of probability ~1 at +1.4e-6: that was an error rollout
    // (15-30% of sampled rollouts of a confident policy), so RL punished confidence.
    const shifted = (logprob: number): Policy => {
      const inner = new ScriptedPolicy({ tokenizer, replies: [ANSWER] });
      return {
        tokenizer,
        sample: async (request) => {
          const result = await inner.sample(request);
          return { ...result, logprobs: result.logprobs.map((value, i) => (i === 0 ? logprob : value)) };
        },
      };
    };
    const { trajectory } = await rollout({}, { policy: shifted(1.4e-6) });
    expect(trajectory.stopReason).toBe('answered');
    expect(trajectory.logprobs[trajectory.promptLength]).toBe(0);
    const refused = (await rollout({}, { policy: shifted(0.5) })).trajectory;
    expect(refused.stopReason).toBe('error');
    expect(refused.errors[0]).toMatch(/returned logprob 0.5, expected a finite value <= 0/);
  });

  it('runs the Hermes format with one call a turn through the same loop', async () => {
    const { trajectory, policy } = await rollout(
      {
        replies: [
          '<tool_call>\n{"name": "wiki_search", "arguments": {"query": "Help!"}}\n</tool_call> extra',
          '<answer>The Beatles</answer>',
        ],
      },
      { env: { format: new HermesFormat({ parallelToolCalls: false }) } },
    );
    checkLayout(trajectory);
    expect(policy.requests[0]!.params.stop).toEqual(['</tool_call>', '</answer>']);
    expect(trajectory.turns[0]!.assistant.content).toBe(
      '<tool_call>\n{"name": "wiki_search", "arguments": {"query": "Help!"}}\n</tool_call>',
    );
    expect(trajectory.turns[0]!.env!.content).toBe(
      '<tool_response>\nHelp! is a song by the Beatles (Help!).\n</tool_response>',
    );
    expect(trajectory.stopReason).toBe('answered');
  });

  it('keeps a Hermes turn with several calls as one assistant turn followed by every result', async () => {
    const call = (query: string) =>
      `<tool_call>\n{"name": "wiki_search", "arguments": {"query": "${query}"}}\n</tool_call>`;
    const { trajectory, policy } = await rollout(
      { replies: [`${call('a')}\n${call('b')}`, '<answer>The Beatles</answer>'] },
      { env: { format: new HermesFormat() } },
    );
    checkLayout(trajectory);
    expect(policy.requests[0]!.params.stop).toEqual(['</answer>']);
    expect(trajectory.turns).toHaveLength(2);
    const [first] = trajectory.turns;
    expect(first!.toolCalls.map((toolCall) => toolCall.arguments)).toEqual([{ query: 'a' }, { query: 'b' }]);
    expect(first!.envMessages!.map((message) => message.content)).toEqual([
      '<tool_response>\nHelp! is a song by the Beatles (a).\n</tool_response>',
      '<tool_response>\nHelp! is a song by the Beatles (b).\n</tool_response>',
    ]);
    expect(first!.env).toEqual(first!.envMessages![0]);
    expect(trajectory.messages.map((message) => message.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
      'user',
      'assistant',
    ]);
    expect(tokenizer.decode(trajectory.tokens.slice(first!.envSpan!.start, first!.envSpan!.end))).toBe(
      '\n<|im_start|>user\n<tool_response>\nHelp! is a song by the Beatles (a).\n</tool_response><|im_end|>\n' +
        '<|im_start|>user\n<tool_response>\nHelp! is a song by the Beatles (b).\n' +
        '</tool_response><|im_end|>\n<|im_start|>assistant\n',
    );
    expect(trajectory.stopReason).toBe('answered');
  });

  it('strips a sampled end-of-turn token from the message but keeps it as a trainable token', async () => {
    const { trajectory } = await rollout({ replies: ['no tags at all', ANSWER] });
    const first = trajectory.turns[0]!;
    expect(first.assistant.content).toBe('no tags at all');
    expect(trajectory.tokens[first.sampled.end - 1]).toBe(tokenizer.tokenId('<|im_end|>'));
    expect(
      tokenizer
        .decode(trajectory.tokens.slice(first.envSpan!.start, first.envSpan!.end))
        .startsWith('\n<|im_start|>user\n'),
    ).toBe(true);
    checkLayout(trajectory);
  });

  it('draws one seed per turn from the generator: same seed, same trajectory', async () => {
    const a = await rollout({ replies: [TOOL('Help!'), ANSWER] }, { seed: 5 });
    const b = await rollout({ replies: [TOOL('Help!'), ANSWER] }, { seed: 5 });
    const c = await rollout({ replies: [TOOL('Help!'), ANSWER] }, { seed: 6 });
    const random = new Random(5);
    expect(a.policy.requests.map((r) => r.seed)).toEqual([random.nextUint32(), random.nextUint32()]);
    expect(a.trajectory).toEqual(b.trajectory);
    expect(a.trajectory.logprobs).not.toEqual(c.trajectory.logprobs);
  });
});
