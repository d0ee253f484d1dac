import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestServer, type TestServer } from '../../testing/serve-for-test.js';

// The test matrix of issue 13 against a real server on loopback: the official `openai` client and
// the Vercel AI SDK (`@ai-sdk/openai-compatible`), streaming on/off x tools on/off x logprobs on/off.
// Without tools the bigram test backend draws its text; with tools (a bigram model never writes a
// valid tool call by chance) it plays a script, still scored by the model, through the same server.

const TWO_CALLS =
  '<tool_call>\n{"name": "weather", "arguments": {"city": "Paris"}}\n</tool_call>\n' +
  '<tool_call>\n{"name": "weather", "arguments": {"city": "Oslo"}}\n</tool_call>';
const FINAL = 'Paris is sunny and Oslo is snowy.';
const FORECAST: Record<string, string> = { Paris: 'sunny', Oslo: 'snowy' };

/** The scripted agent turn: two calls first, then an answer once the tool results are in. */
function script(prompt: string): string | undefined {
  if (!prompt.includes('# Tools')) return undefined;
  // tool_choice required / a named function: the server opened the call; finish it.
  if (prompt.endsWith('{"name": "')) return 'weather", "arguments": {"city": "Paris"}}\n</tool_call>';
  if (prompt.endsWith('"arguments": ')) return '{"city": "Oslo"}}\n</tool_call>';
  const lastUser = prompt.slice(prompt.lastIndexOf('<|im_start|>user\n'));
  return lastUser.startsWith('<|im_start|>user\n<tool_response>') ? FINAL : TWO_CALLS;
}

let test: TestServer;
let openai: OpenAI;
/** Every request body and response text the AI SDK exchanged. */
const wire: { request: Record<string, unknown>; response: string }[] = [];
let provider: ReturnType<typeof createOpenAICompatible>;

beforeAll(async () => {
  test = await startTestServer({ apiKey: 'sk-test' }, { seed: 1, script });
  openai = new OpenAI({ baseURL: `${test.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  provider = createOpenAICompatible({
    name: 'turnwise',
    baseURL: `${test.url}/v1`,
    apiKey: 'sk-test',
    includeUsage: true,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      const text = await response.clone().text();
      wire.push({ request: JSON.parse(String(init?.body ?? '{}')), response: text });
      return response;
    },
  });
});
afterAll(() => test.close());

const TOOLS: ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'weather',
      description: 'The weather in a city.',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];
const QUESTION = 'What is the weather in Paris and Oslo?';
const MODEL = 'test/bigram';

/** What the logprobs of a choice must look like: one entry per completion token, or none. */
function checkLogprobs(
  logprobs: { content: { logprob: number; bytes: number[] | null }[] | null } | null | undefined,
  tokens: number,
  wanted: boolean,
): void {
  if (!wanted) return void expect(logprobs ?? null).toBeNull();
  expect(logprobs!.content).toHaveLength(tokens);
  for (const entry of logprobs!.content!) {
    expect(entry.logprob).toBeLessThanOrEqual(0);
    expect(entry.bytes!.length).toBeGreaterThan(0);
  }
}

const matrix = [false, true].flatMap((stream) =>
  [false, true].flatMap((tools) => [false, true].map((logprobs) => ({ stream, tools, logprobs }))),
);
const name = (c: { stream: boolean; tools: boolean; logprobs: boolean }) =>
  `stream ${c.stream ? 'on' : 'off'}, tools ${c.tools ? 'on' : 'off'}, logprobs ${c.logprobs ? 'on' : 'off'}`;

describe('the official openai client', () => {
  it.each(matrix.map((cell) => [name(cell), cell] as const))('%s', async (_name, { stream, tools, logprobs }) => {
    const base = {
      model: MODEL,
      max_completion_tokens: 200,
      seed: 11,
      ...(logprobs ? { logprobs: true, top_logprobs: 2 } : {}),
    };
    if (!tools) {
      const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'hello' }];
      const whole = await openai.chat.completions.create({ ...base, messages, max_completion_tokens: 20 });
      checkLogprobs(whole.choices[0]!.logprobs, whole.usage!.completion_tokens, logprobs);
      expect(whole.choices[0]!.message.tool_calls).toBeUndefined();
      if (!stream) return;
      let content = '';
      let entries = 0;
      for await (const chunk of await openai.chat.completions.create({
        ...base,
        messages,
        max_completion_tokens: 20,
        stream: true,
      })) {
        content += chunk.choices[0]?.delta.content ?? '';
        entries += chunk.choices[0]?.logprobs?.content?.length ?? 0;
      }
      expect(content).toBe(whole.choices[0]!.message.content);
      expect(entries).toBe(logprobs ? whole.usage!.completion_tokens : 0);
      return;
    }
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: QUESTION }];
    const ask = (history: ChatCompletionMessageParam[]) =>
      stream
        ? openai.chat.completions
            .stream({ ...base, messages: history, tools: TOOLS, stream_options: { include_usage: true } })
            .finalChatCompletion()
        : openai.chat.completions.create({ ...base, messages: history, tools: TOOLS });
    const first = await ask(messages);
    const call = first.choices[0]!;
    expect(call.finish_reason).toBe('tool_calls');
    expect(call.message.content).toBeNull();
    const toolCalls = call.message.tool_calls!.map(
      (toolCall) => toolCall as Extract<typeof toolCall, { type: 'function' }>,
    );
    expect(
      toolCalls.map((toolCall) => [toolCall.type, toolCall.function.name, JSON.parse(toolCall.function.arguments)]),
    ).toEqual([
      ['function', 'weather', { city: 'Paris' }],
      ['function', 'weather', { city: 'Oslo' }],
    ]);
    expect(new Set(toolCalls.map((toolCall) => toolCall.id)).size).toBe(2);
    checkLogprobs(call.logprobs, first.usage!.completion_tokens, logprobs);
    const results: ChatCompletionMessageParam[] = toolCalls.map((toolCall) => ({
      role: 'tool',
      tool_call_id: toolCall.id,
      content: FORECAST[JSON.parse(toolCall.function.arguments).city]!,
    }));
    const second = await ask([...messages, call.message as ChatCompletionMessageParam, ...results]);
    expect(second.choices[0]!.message.content).toBe(FINAL);
    expect(second.choices[0]!.finish_reason).toBe('stop');
    checkLogprobs(second.choices[0]!.logprobs, second.usage!.completion_tokens, logprobs);
  });

  it('forces a call with tool_choice required or a named function', async () => {
    for (const tool_choice of ['required', { type: 'function', function: { name: 'weather' } }] as const) {
      for (const stream of [false, true]) {
        const request = {
          model: MODEL,
          messages: [{ role: 'user' as const, content: QUESTION }],
          tools: TOOLS,
          tool_choice,
          max_completion_tokens: 100,
        };
        const answer = stream
          ? await openai.chat.completions.stream(request).finalChatCompletion()
          : await openai.chat.completions.create(request);
        const calls = answer.choices[0]!.message.tool_calls!.map(
          (toolCall) => toolCall as Extract<typeof toolCall, { type: 'function' }>,
        );
        expect(calls.map((toolCall) => [toolCall.function.name, JSON.parse(toolCall.function.arguments)])).toEqual([
          ['weather', { city: typeof tool_choice === 'string' ? 'Paris' : 'Oslo' }],
        ]);
        expect(answer.choices[0]!.finish_reason).toBe('tool_calls');
      }
    }
  });

  it('returns text, not calls, with tool_choice none, and one call with parallel_tool_calls false', async () => {
    const none = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: QUESTION }],
      tools: TOOLS,
      tool_choice: 'none',
      max_completion_tokens: 200,
    });
    expect(none.choices[0]!.message.tool_calls).toBeUndefined();
    expect(none.choices[0]!.message.content).toBe(TWO_CALLS);
    expect(none.choices[0]!.finish_reason).toBe('stop');
    const one = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: QUESTION }],
      tools: TOOLS,
      parallel_tool_calls: false,
      max_completion_tokens: 200,
    });
    expect(one.choices[0]!.message.tool_calls).toHaveLength(1);
  });
});

describe('the Vercel AI SDK (openai-compatible provider)', () => {
  const calls: string[] = [];
  const weather = tool({
    description: 'The weather in a city.',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      calls.push(city);
      return FORECAST[city] ?? 'unknown';
    },
  });

  it.each(matrix.map((cell) => [name(cell), cell] as const))('%s', async (_name, { stream, tools, logprobs }) => {
    wire.length = 0;
    calls.length = 0;
    const settings = {
      model: provider.chatModel(MODEL),
      seed: 11,
      maxOutputTokens: tools ? 200 : 20,
      ...(logprobs ? { providerOptions: { turnwise: { logprobs: true, top_logprobs: 2 } } } : {}),
      ...(tools ? { prompt: QUESTION, tools: { weather }, stopWhen: stepCountIs(3) } : { prompt: 'hello' }),
    };
    let text: string;
    let steps: { toolCalls: { toolName: string; input: unknown }[]; finishReason: string }[];
    if (stream) {
      const result = streamText(settings);
      text = await result.text;
      steps = await result.steps;
    } else {
      const result = await generateText(settings);
      text = result.text;
      steps = result.steps;
    }
    for (const exchange of wire) {
      expect(exchange.request).toMatchObject({ model: MODEL, ...(stream ? { stream: true } : {}) });
      expect(exchange.response.startsWith('data: ')).toBe(stream);
      expect(exchange.response.includes('"top_logprobs":[{')).toBe(logprobs);
    }
    if (!tools) {
      expect(wire).toHaveLength(1);
      expect(steps).toHaveLength(1);
      expect(text.length).toBeGreaterThan(0);
      return;
    }
    expect(wire).toHaveLength(2);
    expect(steps.map((step) => step.finishReason)).toEqual(['tool-calls', 'stop']);
    expect(steps[0]!.toolCalls.map((toolCall) => [toolCall.toolName, toolCall.input])).toEqual([
      ['weather', { city: 'Paris' }],
      ['weather', { city: 'Oslo' }],
    ]);
    expect(calls).toEqual(['Paris', 'Oslo']);
    expect(text).toBe(FINAL);
    // The second request carried the assistant's calls and one tool message per result.
    const history = wire[1]!.request['messages'] as { role: string; tool_calls?: unknown[]; tool_call_id?: string }[];
    expect(history.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'tool']);
    expect(history[1]!.tool_calls).toHaveLength(2);
  });
});
