import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../backend.js';
import { BigramTestBackend } from '../../testing/bigram-test-backend.js';
import { startTestServer, type TestServer } from '../../testing/serve-for-test.js';
import { ChatTemplateRenderer } from '../../rollout/chat-template-renderer.js';
import { QWEN25_CHAT_TEMPLATE } from '../../testing/qwen25-chat-template.js';
import { VllmPolicy } from '../vllm-sampler.js';

let test: TestServer;
let plain: TestServer;
let qwen: TestServer;
let failing: TestServer;
let openai: OpenAI;
const reference = new BigramTestBackend({ seed: 1 });
const IM_END = reference.tokenizer.tokenId('<|im_end|>')!;

/** The bigram test backend with another name, renderer or policy. */
function wrap(inner: BigramTestBackend, overrides: Partial<Pick<Backend, 'name' | 'renderer' | 'policy'>>): Backend {
  return {
    name: inner.name,
    tokenizer: inner.tokenizer,
    renderer: inner.renderer,
    policy: () => inner.policy(),
    forward: (data, options) => inner.forward(data, options),
    forwardBackward: (data, loss, options) => inner.forwardBackward(data, loss, options),
    optimStep: (params) => inner.optimStep(params),
    save: (name) => inner.save(name),
    load: (path, options) => inner.load(path, options),
    close: () => inner.close(),
    ...overrides,
  };
}

/** A policy that reports no alternatives (like a remote sampler). */
const withoutAlternatives = (inner: BigramTestBackend): Backend =>
  wrap(inner, {
    name: 'no-alternatives',
    policy: () => ({ tokenizer: inner.tokenizer, sample: (request) => inner.sample({ ...request, topLogprobs: 0 }) }),
  });

beforeAll(async () => {
  test = await startTestServer({ apiKey: 'sk-test' });
  plain = await startTestServer({ backend: withoutAlternatives(new BigramTestBackend({ seed: 1 })) });
  // Qwen2.5's own template, which renders tools itself; the script answers with two calls.
  const scripted = new BigramTestBackend({
    seed: 1,
    script: (prompt) =>
      prompt.includes('<tools>')
        ? '<tool_call>\n{"name": "lookup", "arguments": {"key": "a"}}\n</tool_call>\n' +
          '<tool_call>\n{"name": "lookup", "arguments": {"key": "b"}}\n</tool_call>'
        : undefined,
  });
  qwen = await startTestServer({
    backend: wrap(scripted, {
      renderer: new ChatTemplateRenderer({ tokenizer: scripted.tokenizer, template: QWEN25_CHAT_TEMPLATE }),
    }),
  });
  // A sampler that fails after streaming three tokens.
  const inner = new BigramTestBackend({ seed: 1 });
  failing = await startTestServer({
    backend: wrap(inner, {
      policy: () => ({
        tokenizer: inner.tokenizer,
        sample: async (request, onToken) => {
          const result = await inner.sample(request);
          result.tokens.slice(0, 3).forEach((token, t) => onToken?.({ token, logprob: result.logprobs[t]! }));
          throw new Error('sampler lost its GPU');
        },
      }),
    }),
  });
  openai = new OpenAI({ baseURL: `${test.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(async () => {
  await test.close();
  await plain.close();
  await qwen.close();
  await failing.close();
});

/** The tokens greedy decoding must give: the most likely next token at every step (ties: lower id). */
function greedyTokens(prompt: number[], maxTokens: number, stopIds: number[]): number[] {
  const tokens: number[] = [];
  let last = prompt[prompt.length - 1]!;
  while (tokens.length < maxTokens) {
    const row = Array.from(
      { length: reference.tokenizer.vocabSize },
      (_, j) => reference.weights_V_V[last * reference.tokenizer.vocabSize + j]!,
    );
    last = row.indexOf(Math.max(...row));
    tokens.push(last);
    if (stopIds.includes(last)) break;
  }
  return tokens;
}

/** The top-n next tokens after `token` with their logprobs at temperature 1. */
function topAfter(token: number, n: number): { token: number; logprob: number }[] {
  const row = new BigramTestBackend({ seed: 1 })['model'].logSoftmax(token, 1) as Float64Array;
  return Array.from(row.keys())
    .sort((a, b) => row[b]! - row[a]! || a - b)
    .slice(0, n)
    .map((id) => ({ token: id, logprob: row[id]! }));
}

type ChoiceWithIds = { token_ids: number[] };
const MESSAGES = [
  { role: 'system' as const, content: 'be brief' },
  { role: 'user' as const, content: 'hi' },
];

describe('OpenAI-compatible routes, through the official openai client', () => {
  it('lists and retrieves the served model and refuses any other name with 404 model_not_found', async () => {
    expect((await openai.models.list()).data.map((model) => model.id)).toEqual(['test/bigram']);
    expect((await openai.models.retrieve('test/bigram')).id).toBe('test/bigram');
    for (const call of [
      () => openai.models.retrieve('gpt-4o'),
      () => openai.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES }),
      () => openai.completions.create({ model: 'gpt-4o', prompt: 'a' }),
    ]) {
      const error = await call().then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error).toMatchObject({
        status: 404,
        code: 'model_not_found',
        param: 'model',
        type: 'invalid_request_error',
      });
      expect((error as Error).message).toMatch(/"gpt-4o" does not exist on this server; it serves "test\/bigram"/);
    }
  });

  it('completes a text prompt with the same tokens and logprobs as the policy in process', async () => {
    const completion = await openai.completions.create({
      model: 'test/bigram',
      prompt: 'ab',
      max_tokens: 6,
      seed: 7,
      logprobs: 0,
      temperature: 0.8,
    });
    const choice = completion.choices[0]! as (typeof completion.choices)[0] & ChoiceWithIds;
    const expected = await reference.sample({
      tokens: reference.tokenizer.encode('ab'),
      params: { temperature: 0.8, topK: 0, topP: 1, maxTokens: 6, stop: [] },
      seed: 7,
    });
    expect(choice.token_ids).toEqual(expected.tokens);
    expect(choice.logprobs!.token_logprobs).toEqual(expected.logprobs);
    expect(choice.text).toBe(
      reference.tokenizer.decode(expected.tokens.filter((token) => !reference.tokenizer.isSpecialToken(token))),
    );
    expect(choice.finish_reason).toBe('length');
    expect(completion.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 6 });
  });

  it('accepts token-id prompts and n > 1 with distinct seeds', async () => {
    const completion = await openai.completions.create({
      model: 'test/bigram',
      prompt: [5, 6, 7],
      max_tokens: 5,
      n: 3,
      seed: 1,
    });
    expect(completion.choices).toHaveLength(3);
    const first = completion.choices[0] as unknown as { token_ids: number[]; prompt_token_ids: number[] };
    expect(first.prompt_token_ids).toEqual([5, 6, 7]);
    expect(new Set(completion.choices.map((choice) => choice.text)).size).toBeGreaterThan(1);
  });

  it(
    'answers chat completions rendered with the chat template, ' +
      'with logprobs, token ids and no special tokens in the text',
    async () => {
      const completion = await openai.chat.completions.create({
        model: 'test/bigram',
        messages: MESSAGES,
        max_completion_tokens: 30,
        seed: 5,
        logprobs: true,
      });
      const choice = completion.choices[0]! as (typeof completion.choices)[0] & ChoiceWithIds;
      const prompt = reference.renderer.renderPrompt(MESSAGES);
      const expected = await reference.sample({
        tokens: prompt,
        params: {
          temperature: 1,
          topK: 0,
          topP: 1,
          maxTokens: 30,
          stop: [],
          stopTokenIds: reference.renderer.stopTokenIds,
        },
        seed: 5,
      });
      expect(choice.token_ids).toEqual(expected.tokens);
      expect(choice.logprobs!.content!.map((entry) => entry.logprob)).toEqual(expected.logprobs);
      expect(choice.message.content).toBe(
        reference.tokenizer.decode(expected.tokens.filter((token) => !reference.tokenizer.isSpecialToken(token))),
      );
      expect(choice.message.content).not.toMatch(/<\|/);
      expect((completion as unknown as { prompt_token_ids: number[] }).prompt_token_ids).toEqual(prompt);
    },
  );

  it('streams chat completions whose chunks add up to the whole response, usage last', async () => {
    const request = {
      model: 'test/bigram',
      messages: MESSAGES,
      max_completion_tokens: 25,
      seed: 9,
      logprobs: true,
      top_logprobs: 2,
      n: 2,
    };
    const whole = await openai.chat.completions.create(request);
    const stream = await openai.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    const content = ['', ''];
    const logprobs: number[][] = [[], []];
    const finish: (string | null)[] = [null, null];
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      expect(chunk).toMatchObject({ object: 'chat.completion.chunk', id: chunks[0]!.id, model: 'test/bigram' });
      for (const choice of chunk.choices) {
        content[choice.index] += choice.delta.content ?? '';
        logprobs[choice.index]!.push(...(choice.logprobs?.content ?? []).map((entry) => entry.logprob));
        if (choice.finish_reason) finish[choice.index] = choice.finish_reason;
      }
    }
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: whole.usage });
    whole.choices.forEach((choice, index) => {
      expect(content[index]).toBe(choice.message.content);
      expect(logprobs[index]).toEqual(choice.logprobs!.content!.map((entry) => entry.logprob));
      expect(finish[index]).toBe(choice.finish_reason);
    });
    const helper = await openai.chat.completions.stream({ ...request, n: 1 }).finalChatCompletion();
    expect(helper.choices[0]!.message.content).toBe(whole.choices[0]!.message.content);
  });

  it('streams text completions whose chunks add up to the whole text', async () => {
    const request = { model: 'test/bigram', prompt: 'hello', max_tokens: 20, seed: 4, stop: ['e'] };
    const whole = await openai.completions.create(request);
    let text = '';
    let usage: unknown;
    let reason: string | null = null;
    for await (const chunk of await openai.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    })) {
      text += chunk.choices[0]?.text ?? '';
      reason = chunk.choices[0]?.finish_reason ?? reason;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(whole.choices[0]!.text);
    expect(reason).toBe(whole.choices[0]!.finish_reason);
    expect(usage).toEqual(whole.usage);
  });

  it('decodes greedily at temperature 0: the most likely token at every step, whatever the seed', async () => {
    const prompt = reference.renderer.renderPrompt(MESSAGES);
    const expected = greedyTokens(prompt, 20, [IM_END]);
    for (const seed of [1, 2]) {
      const completion = await openai.chat.completions.create({
        model: 'test/bigram',
        messages: MESSAGES,
        max_completion_tokens: 20,
        seed,
        temperature: 0,
        logprobs: true,
      });
      const choice = completion.choices[0]! as (typeof completion.choices)[0] & ChoiceWithIds;
      expect(choice.token_ids).toEqual(expected);
      let last = prompt.at(-1)!;
      choice.token_ids.forEach((token, t) => {
        expect(choice.logprobs!.content![t]!.logprob).toBeCloseTo(topAfter(last, 1)[0]!.logprob, 12);
        last = token;
      });
    }
  });

  it('gives the real top-N alternatives with top_logprobs (chat) and logprobs: N (completions)', async () => {
    const completion = await openai.chat.completions.create({
      model: 'test/bigram',
      messages: MESSAGES,
      max_completion_tokens: 8,
      seed: 3,
      logprobs: true,
      top_logprobs: 3,
    });
    const choice = completion.choices[0]! as (typeof completion.choices)[0] & ChoiceWithIds;
    let last = reference.renderer.renderPrompt(MESSAGES).at(-1)!;
    choice.logprobs!.content!.forEach((entry, t) => {
      const expected = topAfter(last, 3);
      expect(entry.top_logprobs.map((alternative) => alternative.token)).toEqual(
        expected.map((alternative) => reference.tokenizer.decode([alternative.token])),
      );
      entry.top_logprobs.forEach((alternative, k) => {
        expect(alternative.logprob).toBeCloseTo(expected[k]!.logprob, 12);
        // The raw bytes of the token (a lone UTF-8 continuation byte stays itself, not U+FFFD).
        expect(alternative.bytes).toEqual([...reference.tokenizer.tokenBytes(expected[k]!.token)]);
      });
      const sampled = expected.find((alternative) => alternative.token === choice.token_ids[t]);
      if (sampled) expect(entry.logprob).toBeCloseTo(sampled.logprob, 12);
      last = choice.token_ids[t]!;
    });
    const text = await openai.completions.create({
      model: 'test/bigram',
      prompt: 'hey',
      max_tokens: 4,
      seed: 3,
      logprobs: 2,
    });
    const legacy = text.choices[0]!.logprobs!;
    legacy.top_logprobs!.forEach((alternatives, t) => {
      expect(Object.keys(alternatives).length).toBeGreaterThanOrEqual(2);
      expect(alternatives[legacy.tokens![t]!]).toBe(legacy.token_logprobs![t]);
    });
  });

  it('renders tools, assistant tool_calls and tool messages of the history into the prompt', async () => {
    const call = { id: 'call_1', type: 'function' as const, function: { name: 'lookup', arguments: '{"key": "x"}' } };
    const history = [
      { role: 'user' as const, content: 'find x' },
      { role: 'assistant' as const, content: null, tool_calls: [call] },
      { role: 'tool' as const, content: 'x is 1', tool_call_id: 'call_1' },
    ];
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'lookup',
          description: 'Looks up a key.',
          parameters: { type: 'object', properties: { key: { type: 'string' } } },
        },
      },
    ];
    const withCalls = await openai.chat.completions.create({
      model: 'test/bigram',
      messages: history,
      tools,
      max_completion_tokens: 1,
    });
    const withoutCalls = await openai.chat.completions.create({
      model: 'test/bigram',
      messages: [history[0]!, { role: 'assistant', content: '' }, { role: 'user', content: 'x is 1' }],
      max_completion_tokens: 1,
    });
    const prompt = reference.tokenizer.decode(
      (withCalls as unknown as { prompt_token_ids: number[] }).prompt_token_ids,
    );
    expect(prompt).toContain(
      '<|im_start|>system\n# Tools\n\nYou may call one or more functions to assist with the user query.',
    );
    expect(prompt).toContain(
      '{"type": "function", "function": {"name": "lookup", "description": "Looks up a key.", ' +
        '"parameters": {"type": "object", "properties": {"key": {"type": "string"}}}}}',
    );
    expect(prompt).toContain(
      '<|im_start|>assistant\n<tool_call>\n{"name": "lookup", "arguments": {"key": "x"}}\n' +
        '</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n' +
        'x is 1\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    );
    expect(withCalls.usage!.prompt_tokens).toBeGreaterThan(withoutCalls.usage!.prompt_tokens + 100);
  });
});

/** Sends a raw request and returns the status and parsed body. */
async function raw(
  path: string,
  body: unknown,
  base = test.url,
): Promise<{
  status: number;
  body: { error?: { message: string; type: string; param: string | null; code: string | null } };
}> {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: JSON.parse(await response.text()) };
}

describe('hostile requests get one-line OpenAI-shaped errors naming what was wrong', () => {
  const chat = (extra: Record<string, unknown>) => ({
    model: 'test/bigram',
    messages: [{ role: 'user', content: 'hi' }],
    ...extra,
  });
  const completion = (extra: Record<string, unknown>) => ({ model: 'test/bigram', prompt: 'hi', ...extra });
  const cases: [string, string, unknown, number, string | null, RegExp][] = [
    [
      'no model',
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: 'hi' }] },
      400,
      'model',
      /model is required/,
    ],
    ['unknown model', '/v1/chat/completions', chat({ model: 'gpt-4o' }), 404, 'model', /"gpt-4o" does not exist/],
    ['unknown model by id', '/v1/models/gpt-4o', undefined, 404, 'model', /"gpt-4o" does not exist/],
    [
      'no messages',
      '/v1/chat/completions',
      chat({ messages: [] }),
      400,
      'messages',
      /messages needs at least one message/,
    ],
    [
      'bad role',
      '/v1/chat/completions',
      chat({ messages: [{ role: 'wizard', content: 'x' }] }),
      400,
      'messages.0.role',
      /"wizard" is not one of/,
    ],
    [
      'image part',
      '/v1/chat/completions',
      chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }),
      400,
      'messages.0.content',
      /only text parts/,
    ],
    [
      'tool message without id',
      '/v1/chat/completions',
      chat({ messages: [{ role: 'tool', content: 'x' }] }),
      400,
      'messages.0.tool_call_id',
      /without tool_call_id/,
    ],
    [
      'arguments not JSON',
      '/v1/chat/completions',
      chat({
        messages: [
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }],
          },
        ],
      }),
      400,
      'messages.0.tool_calls.0.function.arguments',
      /is not valid JSON/,
    ],
    [
      'arguments not an object',
      '/v1/chat/completions',
      chat({
        messages: [
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1]' } }],
          },
        ],
      }),
      400,
      'messages.0.tool_calls.0.function.arguments',
      /must be a JSON object/,
    ],
    [
      'tool_calls on a user message',
      '/v1/chat/completions',
      chat({
        messages: [
          {
            role: 'user',
            content: 'x',
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
        ],
      }),
      400,
      'messages.0.tool_calls',
      /only assistant messages call tools/,
    ],
    [
      'non-function tool',
      '/v1/chat/completions',
      chat({ tools: [{ type: 'retrieval' }] }),
      400,
      'tools.0.type',
      /only function tools are supported/,
    ],
    [
      'bad tool name',
      '/v1/chat/completions',
      chat({ tools: [{ type: 'function', function: { name: 'two words' } }] }),
      400,
      'tools.0.function.name',
      /1-64 letters/,
    ],
    [
      'duplicate tools',
      '/v1/chat/completions',
      chat({
        tools: [
          { type: 'function', function: { name: 'f' } },
          { type: 'function', function: { name: 'f' } },
        ],
      }),
      400,
      'tools',
      /same name/,
    ],
    [
      'required without tools',
      '/v1/chat/completions',
      chat({ tool_choice: 'required' }),
      400,
      'tool_choice',
      /needs tools/,
    ],
    [
      'named tool not in tools',
      '/v1/chat/completions',
      chat({
        tools: [{ type: 'function', function: { name: 'f' } }],
        tool_choice: { type: 'function', function: { name: 'g' } },
      }),
      400,
      'tool_choice',
      /"g", which is not in tools/,
    ],
    ['bad tool_choice', '/v1/chat/completions', chat({ tool_choice: 'sometimes' }), 400, 'tool_choice', /./],
    [
      'json response_format',
      '/v1/chat/completions',
      chat({ response_format: { type: 'json_object' } }),
      400,
      'response_format',
      /"json_object" is not supported/,
    ],
    [
      'top_logprobs without logprobs',
      '/v1/chat/completions',
      chat({ top_logprobs: 2 }),
      400,
      'top_logprobs',
      /needs logprobs: true/,
    ],
    [
      'top_logprobs too many',
      '/v1/chat/completions',
      chat({ logprobs: true, top_logprobs: 21 }),
      400,
      'top_logprobs',
      /at most 20/,
    ],
    [
      'negative temperature',
      '/v1/chat/completions',
      chat({ temperature: -1 }),
      400,
      'temperature',
      /temperature must be >= 0/,
    ],
    ['n of 0', '/v1/chat/completions', chat({ n: 0 }), 400, 'n', /./],
    ['penalty', '/v1/chat/completions', chat({ frequency_penalty: 0.5 }), 400, 'frequency_penalty', /not supported/],
    ['logit_bias', '/v1/chat/completions', chat({ logit_bias: { '5': 10 } }), 400, 'logit_bias', /not supported/],
    [
      'legacy functions',
      '/v1/chat/completions',
      chat({ functions: [{ name: 'f' }] }),
      400,
      'functions',
      /use tools and tool_choice/,
    ],
    ['empty stop string', '/v1/chat/completions', chat({ stop: [''] }), 400, 'stop.0', /must not be empty/],
    [
      'stream_options without stream',
      '/v1/chat/completions',
      chat({ stream_options: { include_usage: true } }),
      400,
      'stream_options',
      /only allowed with stream: true/,
    ],
    [
      'unknown tool call type',
      '/v1/chat/completions',
      chat({
        messages: [
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c', type: 'custom', function: { name: 'f', arguments: '{}' } }],
          },
        ],
      }),
      400,
      'messages.0.tool_calls.0.type',
      /./,
    ],
    [
      'tool call without id',
      '/v1/chat/completions',
      chat({
        messages: [
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
        ],
      }),
      400,
      'messages.0.tool_calls.0.id',
      /./,
    ],
    [
      'non-text modality',
      '/v1/chat/completions',
      chat({ modalities: ['text', 'audio'] }),
      400,
      'modalities',
      /only the text modality/,
    ],
    ['zero max_tokens', '/v1/chat/completions', chat({ max_tokens: 0 }), 400, 'max_tokens', /./],
    ['messages not a list', '/v1/chat/completions', chat({ messages: 'hi' }), 400, 'messages', /./],
    ['body a list', '/v1/chat/completions', [1, 2], 400, null, /invalid chat\/completions request/],
    ['body not JSON', '/v1/chat/completions', '{"model": ', 400, null, /not valid JSON/],
    ['echo', '/v1/completions', completion({ echo: true }), 400, 'echo', /echo: true is not supported/],
    ['suffix', '/v1/completions', completion({ suffix: 'x' }), 400, 'suffix', /not supported/],
    ['best_of', '/v1/completions', completion({ best_of: 3 }), 400, 'best_of', /best_of 3/],
    ['empty prompt list', '/v1/completions', completion({ prompt: [] }), 400, 'prompt', /prompt is an empty list/],
    [
      'token outside the vocabulary',
      '/v1/completions',
      completion({ prompt: [5, 99999] }),
      400,
      null,
      /token id 99999, outside the vocabulary/,
    ],
    ['logprobs too many', '/v1/completions', completion({ logprobs: 21 }), 400, 'logprobs', /at most 20/],
  ];
  it.each(cases)('%s', async (_name, path, body, status, param, message) => {
    const answer = await raw(path, body);
    expect(answer.status).toBe(status);
    const error = answer.body.error!;
    expect(error.type).toBe('invalid_request_error');
    expect(error.param).toBe(param);
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/\n|\s{2,}at\s/);
    if (status === 404) expect(error.code).toBe('model_not_found');
  });

  it('refuses a wrong API key with 401 authentication_error', async () => {
    const wrong = new OpenAI({ baseURL: `${test.url}/v1`, apiKey: 'nope', maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('refuses alternatives the backend cannot compute with a JSON 400, streaming or not', async () => {
    for (const stream of [false, true]) {
      const answer = await raw('/v1/chat/completions', chat({ logprobs: true, top_logprobs: 2, stream }), plain.url);
      expect(answer.status).toBe(400);
      expect(answer.body.error!.message).toMatch(
        /top_logprobs is not available: the no-alternatives backend's sampler does not report alternative tokens/,
      );
    }
    expect((await raw('/v1/completions', completion({ logprobs: 1 }), plain.url)).body.error!.param).toBe('logprobs');
    expect((await raw('/v1/completions', completion({ logprobs: 0 }), plain.url)).status).toBe(200);
  });
});

describe('a backend whose chat template renders tools itself (Qwen2.5)', () => {
  it('gives the template the tools and history calls, and parses the calls it answers with', async () => {
    const client = new OpenAI({ baseURL: `${qwen.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'lookup',
          description: 'Looks up a key.',
          parameters: { type: 'object', properties: { key: { type: 'string' } } },
        },
      },
    ];
    const history = [
      { role: 'user' as const, content: 'find a' },
      {
        role: 'assistant' as const,
        content: null,
        tool_calls: [{ id: 'c0', type: 'function' as const, function: { name: 'lookup', arguments: '{"key": "z"}' } }],
      },
      { role: 'tool' as const, content: 'z is 0', tool_call_id: 'c0' },
    ];
    const answer = await client.chat.completions.create({
      model: 'test/bigram',
      messages: history,
      tools,
      max_completion_tokens: 200,
    });
    const prompt = reference.tokenizer.decode((answer as unknown as { prompt_token_ids: number[] }).prompt_token_ids);
    // Only Qwen's own template adds its default system line.
    expect(
      prompt.startsWith(
        '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools',
      ),
    ).toBe(true);
    expect(prompt).toContain(
      '<|im_start|>assistant\n<tool_call>\n{"name": "lookup", "arguments": {"key": "z"}}\n' +
        '</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nz is 0\n</tool_response><|im_end|>',
    );
    const calls = answer.choices[0]!.message.tool_calls!.map(
      (call) => (call as Extract<typeof call, { type: 'function' }>).function,
    );
    expect(calls).toEqual([
      { name: 'lookup', arguments: '{"key":"a"}' },
      { name: 'lookup', arguments: '{"key":"b"}' },
    ]);
    expect(answer.choices[0]!.finish_reason).toBe('tool_calls');
  });
});

describe('a sampler that fails in the middle of a stream', () => {
  it('ends the started stream with an OpenAI error event, and answers JSON 500 when not streaming', async () => {
    const response = await fetch(`${failing.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'test/bigram', messages: MESSAGES, stream: true }),
    });
    expect(response.status).toBe(200);
    const events = (await response.text()).trim().split('\n\n');
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(events[0]!.slice('data: '.length)).choices[0].delta.role).toBe('assistant');
    expect(JSON.parse(events.at(-1)!.slice('data: '.length))).toEqual({
      error: { message: 'internal error: sampler lost its GPU', type: 'server_error', param: null, code: null },
    });
    const whole = await raw('/v1/chat/completions', { model: 'test/bigram', messages: MESSAGES }, failing.url);
    expect(whole.status).toBe(500);
    expect(whole.body.error!.message).toBe('internal error: sampler lost its GPU');
  });
});

describe('VllmPolicy', () => {
  it('samples from token ids and returns token ids and logprobs equal to the in-process policy', async () => {
    const policy = new VllmPolicy({
      baseUrl: `${test.url}/v1`,
      model: 'test/bigram',
      apiKey: 'sk-test',
      tokenizer: reference.tokenizer,
    });
    const params = { temperature: 1, topK: 20, topP: 0.9, maxTokens: 25, stop: ['e'], stopTokenIds: [2] };
    const tokens = reference.tokenizer.encode('hello');
    for (const seed of [1, 2, 3]) {
      expect(await policy.sample({ tokens, params, seed })).toEqual(await reference.sample({ tokens, params, seed }));
    }
  });

  it('builds the vLLM request with token-id prompt, stop token ids and token-id outputs', () => {
    const policy = new VllmPolicy({ baseUrl: 'http://127.0.0.1:1', model: 'm', tokenizer: reference.tokenizer });
    const body = policy.requestBody({
      tokens: [1, 2],
      seed: 3,
      params: { temperature: 1, topK: 0, topP: 1, maxTokens: 4, stop: ['</answer>'], stopTokenIds: [2] },
    });
    expect(body).toMatchObject({
      prompt: [1, 2],
      top_k: -1,
      stop: ['</answer>'],
      stop_token_ids: [2],
      include_stop_str_in_output: true,
      logprobs: 0,
      return_token_ids: true,
      return_tokens_as_token_ids: true,
    });
  });
});
