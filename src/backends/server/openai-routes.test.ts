import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BigramTestBackend } from '../../testing/bigram-test-backend.js';
import { startTestServer, type TestServer } from '../../testing/serve-for-test.js';
import { VllmPolicy } from '../vllm-sampler.js';

let test: TestServer;
let openai: OpenAI;
const reference = new BigramTestBackend({ seed: 1 });
beforeAll(async () => {
  test = await startTestServer({ apiKey: 'sk-test' });
  openai = new OpenAI({ baseURL: `${test.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(() => test.close());

describe('OpenAI-compatible routes, through the official openai client', () => {
  it('lists the served model', async () => {
    const models = await openai.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['test/bigram']);
  });

  it('completes a text prompt with the same tokens and logprobs as the policy in process', async () => {
    const completion = await openai.completions.create({ model: 'test/bigram', prompt: 'ab', max_tokens: 6, seed: 7, logprobs: 0, temperature: 0.8 });
    const choice = completion.choices[0]! as typeof completion.choices[0] & { token_ids: number[] };
    const expected = await reference.sample({ tokens: reference.tokenizer.encode('ab'), params: { temperature: 0.8, topK: 0, topP: 1, maxTokens: 6, stop: [] }, seed: 7 });
    expect(choice.token_ids).toEqual(expected.tokens);
    expect(choice.logprobs!.token_logprobs).toEqual(expected.logprobs);
    expect(choice.text).toBe(reference.tokenizer.decode(expected.tokens));
    expect(choice.finish_reason).toBe('length');
    expect(completion.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 6 });
  });

  it('accepts token-id prompts and n > 1 with distinct seeds', async () => {
    const completion = await openai.completions.create({ model: 'test/bigram', prompt: [5, 6, 7], max_tokens: 5, n: 3, seed: 1 });
    expect(completion.choices).toHaveLength(3);
    const first = completion.choices[0] as unknown as { token_ids: number[]; prompt_token_ids: number[] };
    expect(first.prompt_token_ids).toEqual([5, 6, 7]);
    expect(new Set(completion.choices.map((choice) => choice.text)).size).toBeGreaterThan(1);
  });

  it('answers chat completions rendered with the chat template, with logprobs and token ids', async () => {
    const messages = [{ role: 'system' as const, content: 'be brief' }, { role: 'user' as const, content: 'hi' }];
    const completion = await openai.chat.completions.create({ model: 'test/bigram', messages, max_completion_tokens: 30, seed: 5, logprobs: true, top_logprobs: 1 });
    const choice = completion.choices[0]! as typeof completion.choices[0] & { token_ids: number[] };
    const prompt = reference.renderer.renderPrompt(messages);
    const expected = await reference.sample({ tokens: prompt, params: { temperature: 1, topK: 0, topP: 1, maxTokens: 30, stop: [], stopTokenIds: reference.renderer.stopTokenIds }, seed: 5 });
    expect(choice.token_ids).toEqual(expected.tokens);
    expect(choice.logprobs!.content!.map((entry) => entry.logprob)).toEqual(expected.logprobs);
    const visible = expected.finishReason === 'stop' ? expected.tokens.slice(0, -1) : expected.tokens;
    expect(choice.message.content).toBe(reference.tokenizer.decode(visible));
    expect((completion as unknown as { prompt_token_ids: number[] }).prompt_token_ids).toEqual(prompt);
  });

  it('refuses streaming, tools and a wrong API key with clear errors', async () => {
    await expect(openai.completions.create({ model: 'test/bigram', prompt: 'a', stream: true })).rejects.toThrow(/stream: true is not supported/);
    await expect(
      openai.chat.completions.create({ model: 'test/bigram', messages: [{ role: 'user', content: 'a' }], tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] }),
    ).rejects.toThrow(/tools are not supported/);
    const wrong = new OpenAI({ baseURL: `${test.url}/v1`, apiKey: 'nope', maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    // Every text has bytes, so the prompt the model cannot take is a token id past its vocabulary.
    await expect(openai.completions.create({ model: 'test/bigram', prompt: [97, 259] })).rejects.toThrow(/token id 259, outside the vocabulary \[0, 259\)/);
    await expect(openai.completions.create({ model: 'test/bigram', prompt: [] })).rejects.toThrow(/prompt is an empty list/);
  });
});

describe('VllmPolicy', () => {
  it('samples from token ids and returns token ids and logprobs equal to the in-process policy', async () => {
    const policy = new VllmPolicy({ baseUrl: `${test.url}/v1`, model: 'test/bigram', apiKey: 'sk-test', tokenizer: reference.tokenizer });
    const params = { temperature: 1, topK: 20, topP: 0.9, maxTokens: 25, stop: ['e'], stopTokenIds: reference.renderer.stopTokenIds };
    const tokens = reference.tokenizer.encode('hello');
    const finishReasons: string[] = [];
    for (const seed of [1, 2, 3, 4]) {
      const expected = await reference.sample({ tokens, params, seed });
      expect(await policy.sample({ tokens, params, seed })).toEqual(expected);
      finishReasons.push(expected.finishReason);
    }
    // Seed 4 ends on <|im_end|>, so a stopped sample is compared too.
    expect(finishReasons).toContain('stop');
  });

  it('builds the vLLM request with token-id prompt, stop token ids and token-id outputs', () => {
    const policy = new VllmPolicy({ baseUrl: 'http://127.0.0.1:1', model: 'm', tokenizer: reference.tokenizer });
    const body = policy.requestBody({ tokens: [1, 2], seed: 3, params: { temperature: 1, topK: 0, topP: 1, maxTokens: 4, stop: ['</answer>'], stopTokenIds: [2] } });
    expect(body).toMatchObject({ prompt: [1, 2], top_k: -1, stop: ['</answer>'], stop_token_ids: [2], include_stop_str_in_output: true, logprobs: 0, return_token_ids: true, return_tokens_as_token_ids: true });
  });
});
