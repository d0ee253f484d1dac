import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HermesFormat } from './hermes-format.js';
import { EMPTY_OUTPUT_ERROR, NO_TOOL_CALL_ERROR } from './message-format.js';
import { defineTool } from './tool.js';
import { ToolEnv } from './tool-env.js';

const calls: string[] = [];
const search = defineTool({
  name: 'wiki_search',
  description: 'Searches Wikipedia.',
  parameters: z.object({ query: z.string().describe('What to look up') }),
  execute: ({ query }) => {
    calls.push(query);
    return query === 'nothing' ? '   ' : `Article: ${query}`;
  },
});
const broken = defineTool({
  name: 'broken',
  description: 'Always throws.',
  parameters: z.object({}),
  execute: () => {
    throw new Error('disk on fire');
  },
});
const slow = defineTool({
  name: 'slow',
  description: 'Never finishes in time.',
  parameters: z.object({}),
  timeoutMs: 20,
  execute: (_args, { signal }) =>
    new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('late'), 5_000);
      signal.addEventListener('abort', () => clearTimeout(timer));
    }),
});

const row = { question: 'Who sang Help!?', answers: ['the beatles'] };
const assistant = (content: string) => ({ role: 'assistant' as const, content });
const toolMessage = (json: string) => assistant(`<reasoning>\nlook it up\n</reasoning>\n<tool>\n${json}\n</tool>`);

function env(options: Partial<ConstructorParameters<typeof ToolEnv>[0]> = {}) {
  const instance = new ToolEnv({ tools: [search, broken, slow], ...options });
  instance.reset(row);
  return instance;
}

describe('ToolEnv.reset', () => {
  it('gives the system prompt and the paper user message', () => {
    const messages = new ToolEnv({ tools: [search] }).reset(row);
    expect(messages[0]!.role).toBe('system');
    expect(messages[0]!.content).toContain(
      'wiki_search: Searches Wikipedia.\n\nArguments:\n  - query: What to look up',
    );
    expect(messages[1]).toEqual({ role: 'user', content: 'Question: Who sang Help!?\n' });
  });

  it('rejects a row without a question with a clear error', () => {
    expect(() => new ToolEnv({ tools: [search] }).reset({ q: 1 } as never)).toThrow(/no string 'question' field/);
  });
});

describe('ToolEnv.step (paper loop)', () => {
  it('runs a parsed tool call and wraps its output in <result>', async () => {
    const step = await env().step(toolMessage('{"name": "wiki_search", "args": {"query": "Help!"}}'));
    expect(step).toEqual({
      done: false,
      reply: { role: 'user', content: '<result>\nArticle: Help!\n</result>' },
      toolCalls: [{ name: 'wiki_search', arguments: { query: 'Help!' } }],
      isToolResult: true,
      toolFailed: false,
    });
  });

  it('ends on a parseable answer', async () => {
    const step = await env().step(assistant('<reasoning>x</reasoning><answer>The Beatles</answer>'));
    expect(step).toMatchObject({ done: true, stopReason: 'answered' });
    expect(step.reply).toBeUndefined();
  });

  it('answers a message without a parseable tag with the no-tool error, without <result>', async () => {
    for (const content of ['I think it is the Beatles.', '<tool>{"name": "wiki_search"}', '<answer>unclosed']) {
      const step = await env().step(assistant(content));
      expect(step).toEqual({
        done: false,
        reply: { role: 'user', content: NO_TOOL_CALL_ERROR },
        toolCalls: [],
        isToolResult: false,
        toolFailed: false,
      });
    }
  });

  it.each([
    ['{"name": "wiki_search", "args": {"query": }', 'Error: Invalid JSON format'],
    ['[1, 2]', 'Error: Tool command must be a JSON object'],
    ['{"args": {}}', "Error: Tool command must specify 'name'"],
    ['{"name": "google", "args": {"query": "x"}}', "Error: Unknown tool 'google'"],
  ])('returns a tool-level error inside <result> for %s', async (json, error) => {
    const step = await env().step(toolMessage(json));
    expect(step).toMatchObject({
      done: false,
      reply: { role: 'user', content: `<result>\n${error}\n</result>` },
      isToolResult: true,
      toolFailed: true,
    });
  });

  it('validates arguments against the zod schema (wrong type, missing, unexpected name)', async () => {
    const wrongType = await env().step(toolMessage('{"name": "wiki_search", "args": {"query": 5}}'));
    expect(wrongType.reply!.content).toBe(
      "<result>\nError: Invalid arguments for 'wiki_search': query: " +
        'Invalid input: expected string, received number\n</result>',
    );
    const missing = await env().step(toolMessage('{"name": "wiki_search", "args": {}}'));
    expect(missing.reply!.content).toMatch(/^<result>\nError: Invalid arguments for 'wiki_search': query: /);
    const unexpected = await env().step(toolMessage('{"name": "wiki_search", "args": {"q": "x"}}'));
    expect(unexpected.reply!.content).toBe(
      "<result>\nError: wiki_search() got an unexpected argument 'q'; expected 'query'\n</result>",
    );
    expect(unexpected.toolFailed).toBe(true);
  });

  it('turns a throwing tool into an Error: result and goes on', async () => {
    const step = await env().step(toolMessage('{"name": "broken", "args": {}}'));
    expect(step).toMatchObject({
      done: false,
      reply: { content: '<result>\nError: disk on fire\n</result>' },
      toolFailed: true,
    });
  });

  it('turns a tool that runs past its timeout into an Error: result and aborts its signal', async () => {
    const started = Date.now();
    const step = await env().step(toolMessage('{"name": "slow", "args": {}}'));
    expect(step.reply!.content).toBe("<result>\nError: Tool 'slow' timed out after 20 ms\n</result>");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('answers blank tool output with the empty-output error, without <result>', async () => {
    const step = await env().step(toolMessage('{"name": "wiki_search", "args": {"query": "nothing"}}'));
    expect(step).toMatchObject({
      done: false,
      reply: { role: 'user', content: EMPTY_OUTPUT_ERROR },
      isToolResult: false,
      toolFailed: false,
    });
  });

  it('ends the episode on the second tool call without executing it', async () => {
    const episode = env();
    calls.length = 0;
    await episode.step(toolMessage('{"name": "wiki_search", "args": {"query": "first"}}'));
    const second = await episode.step(toolMessage('{"name": "wiki_search", "args": {"query": "second"}}'));
    expect(second).toMatchObject({
      done: true,
      stopReason: 'max_tool_calls',
      toolCalls: [{ name: 'wiki_search', arguments: { query: 'second' } }],
    });
    expect(calls).toEqual(['first']);
  });

  it('counts a tool call with bad JSON towards maxToolCalls (it is a parseable <tool>)', async () => {
    const episode = env();
    await episode.step(toolMessage('not json'));
    expect(await episode.step(toolMessage('also not json'))).toMatchObject({
      done: true,
      stopReason: 'max_tool_calls',
    });
  });

  it('checks the tool-call limit before the answer, as the reference is_completed does', async () => {
    const episode = env({ maxToolCalls: 1 });
    const step = await episode.step(
      assistant('<tool>{"name": "wiki_search", "args": {"query": "x"}}</tool><answer>x</answer>'),
    );
    expect(step).toMatchObject({ done: true, stopReason: 'max_tool_calls' });
  });

  it('lets untagged messages continue until the safety maxTurns cap', async () => {
    const episode = env({ maxTurns: 3 });
    expect((await episode.step(assistant('hmm'))).done).toBe(false);
    expect((await episode.step(assistant('hmm'))).done).toBe(false);
    expect(await episode.step(assistant('hmm'))).toMatchObject({ done: true, stopReason: 'max_turns' });
  });

  it('classifies without running the tool when the loop says the budget is spent', async () => {
    calls.length = 0;
    const step = await env().step(toolMessage('{"name": "wiki_search", "args": {"query": "late"}}'), { final: true });
    expect(step).toMatchObject({ done: true, stopReason: 'token_budget' });
    expect(calls).toEqual([]);
    expect(await env().step(assistant('<answer>x</answer>'), { final: true })).toMatchObject({
      stopReason: 'answered',
    });
  });

  it('rejects duplicate tool names and bad limits', () => {
    expect(() => new ToolEnv({ tools: [search, search] })).toThrow(/two tools are named 'wiki_search'/);
    expect(() => new ToolEnv({ tools: [search], maxToolCalls: 0 })).toThrow(/maxToolCalls must be a positive integer/);
  });
});

describe('ToolEnv with the Hermes format', () => {
  const hermes = () => {
    const instance = new ToolEnv({ tools: [search], format: new HermesFormat() });
    instance.reset(row);
    return instance;
  };

  it('runs <tool_call> JSON with "arguments" and replies in <tool_response>', async () => {
    const step = await hermes().step(
      assistant('<tool_call>\n{"name": "wiki_search", "arguments": {"query": "Help!"}}\n</tool_call>'),
    );
    expect(step).toMatchObject({
      done: false,
      reply: { role: 'user', content: '<tool_response>\nArticle: Help!\n</tool_response>' },
      toolCalls: [{ name: 'wiki_search', arguments: { query: 'Help!' } }],
      isToolResult: true,
      toolFailed: false,
    });
  });

  it('accepts arguments encoded as a JSON string', async () => {
    const step = await hermes().step(
      assistant('<tool_call>{"name": "wiki_search", "arguments": "{\\"query\\": \\"x\\"}"}</tool_call>'),
    );
    expect(step.toolCalls).toEqual([{ name: 'wiki_search', arguments: { query: 'x' } }]);
  });

  it('reports unknown tools inside <tool_response> and ends on <answer>', async () => {
    const episode = hermes();
    const unknown = await episode.step(assistant('<tool_call>{"name": "google", "arguments": {}}</tool_call>'));
    expect(unknown.reply!.content).toBe("<tool_response>\nError: Unknown tool 'google'\n</tool_response>");
    expect(unknown.toolFailed).toBe(true);
    expect(await episode.step(assistant('<answer>The Beatles</answer>'))).toMatchObject({
      done: true,
      stopReason: 'answered',
    });
  });

  it('lists tools as JSON schemas in its system prompt and stops on its own tags', () => {
    const prompt = new HermesFormat().systemPrompt([search]);
    expect(prompt).toContain(
      '<tools>\n{"type":"function","function":{"name":"wiki_search",' +
        '"description":"Searches Wikipedia.","parameters":{"type":"object","properties":{"query":{"type":"string",' +
        '"description":"What to look up"}},"required":["query"]}}}\n</tools>',
    );
    expect(new HermesFormat().stop).toEqual(['</answer>']);
    expect(new HermesFormat({ parallelToolCalls: false }).stop).toEqual(['</tool_call>', '</answer>']);
  });

  it(
    'runs every <tool_call> of a turn in order ' + 'and answers each with its own message, counting the turn once',
    async () => {
      calls.length = 0;
      const episode = new ToolEnv({ tools: [search], format: new HermesFormat(), maxToolCalls: 2 });
      episode.reset(row);
      const step = await episode.step(
        assistant(
          'Two lookups.\n<tool_call>\n{"name": "wiki_search", "arguments": {"query": "Help!"}}\n' +
            '</tool_call>\n<tool_call>\n{"name": "google", "arguments": {}}\n</tool_call>\n' +
            '<tool_call>\n{"name": "wiki_search", "arguments": {"query": "Beatles"}}\n</tool_call>',
        ),
      );
      expect(calls).toEqual(['Help!', 'Beatles']);
      expect(step.replies!.map((reply) => reply.content)).toEqual([
        '<tool_response>\nArticle: Help!\n</tool_response>',
        "<tool_response>\nError: Unknown tool 'google'\n</tool_response>",
        '<tool_response>\nArticle: Beatles\n</tool_response>',
      ]);
      expect(step.reply).toEqual(step.replies![0]);
      expect(step.toolCalls.map((call) => call.arguments)).toEqual([{ query: 'Help!' }, { query: 'Beatles' }]);
      expect(step).toMatchObject({ done: false, isToolResult: true, toolFailed: true });
      // The three-call turn counted once: the second tool-calling turn reaches maxToolCalls = 2.
      expect(
        await episode.step(assistant('<tool_call>{"name": "wiki_search", "arguments": {"query": "x"}}</tool_call>')),
      ).toMatchObject({ done: true, stopReason: 'max_tool_calls' });
    },
  );

  it('runs only the first call with parallelToolCalls: false, and the XML format keeps one call a turn', async () => {
    calls.length = 0;
    const two =
      '<tool_call>{"name": "wiki_search", "arguments": {"query": "a"}}</tool_call>' +
      '<tool_call>{"name": "wiki_search", "arguments": {"query": "b"}}</tool_call>';
    const single = new ToolEnv({ tools: [search], format: new HermesFormat({ parallelToolCalls: false }) });
    single.reset(row);
    const step = await single.step(assistant(two));
    expect(step.replies).toBeUndefined();
    expect(step.toolCalls).toHaveLength(1);
    const xml = new ToolEnv({ tools: [search] });
    xml.reset(row);
    const xmlStep = await xml.step(
      assistant(
        '<tool>\n{"name": "wiki_search", "args": {"query": "c"}}\n</tool>\n' +
          '<tool>\n{"name": "wiki_search", "args": {"query": "d"}}\n</tool>',
      ),
    );
    expect(xmlStep.replies).toBeUndefined();
    expect(xmlStep.reply!.content).toBe('<result>\nArticle: c\n</result>');
    expect(calls).toEqual(['a', 'c']);
  });

  it('replies to a message without a tool call or answer with its own hint', async () => {
    const step = await hermes().step(assistant('The Beatles'));
    expect(step.reply!.content).toMatch(/^Error: No tool call or answer found/);
  });
});

describe('ToolEnv options', () => {
  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31])(
    'refuses a tool timeout of %s ms',
    (toolTimeoutMs) => {
      expect(() => new ToolEnv({ tools: [search], toolTimeoutMs })).toThrow(
        /toolTimeoutMs must be a number of milliseconds/,
      );
    },
  );
});
