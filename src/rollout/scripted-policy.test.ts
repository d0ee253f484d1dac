import { describe, expect, it } from 'vitest';
import type { SamplingParams } from './policy.js';
import { ByteTokenizer } from '../testing/byte-tokenizer.js';
import { ScriptExhaustedError, ScriptedPolicy } from './scripted-policy.js';

const tokenizer = new ByteTokenizer();
const IM_END = tokenizer.tokenId('<|im_end|>')!;
const params = (overrides: Partial<SamplingParams> = {}): SamplingParams => ({
  temperature: 1,
  topK: 0,
  topP: 1,
  maxTokens: 100,
  stop: ['</tool>', '</answer>'],
  stopTokenIds: [IM_END],
  ...overrides,
});

describe('ScriptedPolicy', () => {
  it('stops after the token that completes a stop string, keeping it', async () => {
    const policy = new ScriptedPolicy({ tokenizer, replies: ['<tool>x</tool> and more'] });
    const result = await policy.sample({ tokens: [1, 2], params: params(), seed: 1, sessionId: 's' });
    expect(tokenizer.decode(result.tokens)).toBe('<tool>x</tool>');
    expect(result.finishReason).toBe('stop');
    expect(result.logprobs).toHaveLength(result.tokens.length);
    expect(result.logprobs.every((value) => value < 0 && value > -2.02)).toBe(true);
  });

  it('appends the end-of-turn token to a reply without a stop string', async () => {
    const policy = new ScriptedPolicy({ tokenizer, replies: ['plain'] });
    const result = await policy.sample({ tokens: [], params: params(), seed: 1 });
    expect(tokenizer.decode(result.tokens)).toBe('plain<|im_end|>');
    expect(result.finishReason).toBe('stop');
  });

  it('truncates at maxTokens with finishReason length', async () => {
    const policy = new ScriptedPolicy({ tokenizer, replies: ['abcdefgh</answer>'] });
    const result = await policy.sample({ tokens: [], params: params({ maxTokens: 3 }), seed: 1 });
    expect(tokenizer.decode(result.tokens)).toBe('abc');
    expect(result.finishReason).toBe('length');
  });

  it('stops on a stop token id inside the reply', async () => {
    const policy = new ScriptedPolicy({ tokenizer, replies: ['ab<|im_end|>cd'] });
    const result = await policy.sample({ tokens: [], params: params(), seed: 1 });
    expect(result.tokens).toEqual([97, 98, IM_END]);
  });

  it('plays each session its own turn sequence, and per-rollout scripts by first-request order', async () => {
    const policy = new ScriptedPolicy({ tokenizer, rollouts: [['a0', 'a1'], ['b0']] });
    const text = async (sessionId: string) =>
      tokenizer.decode((await policy.sample({ tokens: [], params: params(), seed: 0, sessionId })).tokens);
    expect(await text('x')).toBe('a0<|im_end|>');
    expect(await text('y')).toBe('b0<|im_end|>');
    expect(await text('x')).toBe('a1<|im_end|>');
    await expect(text('y')).rejects.toThrow(ScriptExhaustedError);
  });

  it('gives the reply function the decoded request, the session and the turn', async () => {
    const policy = new ScriptedPolicy({
      tokenizer,
      reply: ({ text, turn, sessionId }) => `${sessionId}:${turn}:${text.length}`,
    });
    const result = await policy.sample({ tokens: tokenizer.encode('four'), params: params(), seed: 0, sessionId: 's' });
    expect(tokenizer.decode(result.tokens)).toBe('s:0:4<|im_end|>');
  });

  it('gives the same logprobs for the same seed and different ones for another seed', async () => {
    const policy = new ScriptedPolicy({ tokenizer, replies: ['same text'] });
    const a = await policy.sample({ tokens: [], params: params(), seed: 7 });
    const b = await policy.sample({ tokens: [], params: params(), seed: 7 });
    const c = await policy.sample({ tokens: [], params: params(), seed: 8 });
    expect(a.logprobs).toEqual(b.logprobs);
    expect(a.logprobs).not.toEqual(c.logprobs);
  });

  it('requires exactly one script source', () => {
    expect(() => new ScriptedPolicy({ tokenizer })).toThrow(/exactly one/);
  });
});
