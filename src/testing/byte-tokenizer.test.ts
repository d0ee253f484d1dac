import { describe, expect, it } from 'vitest';
import { ByteTokenizer } from './byte-tokenizer.js';

describe('ByteTokenizer', () => {
  const tokenizer = new ByteTokenizer();

  it('maps bytes to ids 0..255 and special tokens from 256', () => {
    expect(tokenizer.encode('Hi')).toEqual([72, 105]);
    expect(tokenizer.encode('<|im_start|>a<|im_end|><|endoftext|>')).toEqual([257, 97, 258, 256]);
    expect(tokenizer.vocabSize).toBe(259);
    expect(tokenizer.eosTokenId).toBe(256);
    expect(tokenizer.tokenId('<|im_end|>')).toBe(258);
    expect(tokenizer.tokenId('<tool>')).toBeUndefined();
  });

  it('round-trips text with multi-byte characters and special tokens', () => {
    const text = '<|im_start|>user\nPelé — 東京 🎸<|im_end|>\n';
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    expect(tokenizer.encode('é')).toHaveLength(2);
  });

  it('gives each token its raw byte and marks the special tokens', () => {
    const tokenizer = new ByteTokenizer();
    const ids = tokenizer.encode('é<|im_end|>');
    expect(ids.map((id) => [...tokenizer.tokenBytes(id)])).toEqual([[0xc3], [0xa9], [...Buffer.from('<|im_end|>')]]);
    expect(ids.map((id) => tokenizer.isSpecialToken(id))).toEqual([false, false, true]);
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => tokenizer.decode([259])).toThrow(/outside the vocabulary/);
  });

  it('accepts custom special tokens', () => {
    const custom = new ByteTokenizer({ specialTokens: ['<eos>', '<eot>'], eosToken: '<eos>' });
    expect(custom.encode('x<eot>')).toEqual([120, 257]);
    expect(custom.eosTokenId).toBe(256);
  });
});
